//! A small table painter: columns with a minimum, a maximum and a priority (low-priority columns
//! go first when the pane is narrow), cells cut with `…`, and only the rows handed in are drawn —
//! callers pass the visible window, never the whole list.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::text::{fit, fit_left, width};

#[derive(Clone, Copy, Debug)]
pub struct Col {
    pub title: &'static str,
    pub min: u16,
    /// `u16::MAX` = takes what is left (shared with the other flexible columns).
    pub max: u16,
    /// 0 is kept longest; higher numbers are dropped first when space runs out.
    pub prio: u8,
    pub right: bool,
    /// Cut from the left (`…tail`) instead of the right.
    pub keep_tail: bool,
    /// Cut without `…` (digests: a shorter prefix is still a prefix).
    pub clip: bool,
    /// Grows only after every other column has its content width (messages, images).
    pub greedy: bool,
}

impl Col {
    pub const fn new(title: &'static str, min: u16, max: u16, prio: u8) -> Self {
        Self {
            title,
            min,
            max,
            prio,
            right: false,
            keep_tail: false,
            clip: false,
            greedy: false,
        }
    }

    pub const fn flex(title: &'static str, min: u16, prio: u8) -> Self {
        Self::new(title, min, u16::MAX, prio)
    }

    pub const fn right(mut self) -> Self {
        self.right = true;
        self
    }

    pub const fn greedy(mut self) -> Self {
        self.greedy = true;
        self
    }

    pub const fn clip(mut self) -> Self {
        self.clip = true;
        self
    }

    pub const fn tail(mut self) -> Self {
        self.keep_tail = true;
        self
    }
}

/// One cell: text and style.
pub type Cell = (String, Style);

/// Column widths for `total` columns of space (0 = column hidden), one space between columns.
/// `want[i]` is the widest content of column `i` among the rows on screen: bounded columns grow
/// towards it (never past `max`) in priority order, and flexible columns share what is left.
pub fn widths(cols: &[Col], total: u16, want: &[u16]) -> Vec<u16> {
    let mut shown: Vec<bool> = vec![true; cols.len()];
    let need = |shown: &[bool]| -> u32 {
        let n = shown.iter().filter(|s| **s).count() as u32;
        cols.iter()
            .zip(shown)
            .filter(|(_, s)| **s)
            .map(|(c, _)| c.min as u32)
            .sum::<u32>()
            + n.saturating_sub(1)
    };
    while need(&shown) > total as u32 && shown.iter().filter(|s| **s).count() > 1 {
        // Drop the visible column with the highest prio number (the rightmost among equals).
        let Some(drop) = (0..cols.len())
            .filter(|i| shown[*i])
            .max_by_key(|i| (cols[*i].prio, *i))
        else {
            break;
        };
        shown[drop] = false;
    }
    let mut w: Vec<u16> = cols
        .iter()
        .zip(&shown)
        .map(|(c, s)| if *s { c.min } else { 0 })
        .collect();
    let mut left = (total as u32).saturating_sub(need(&shown));
    let mut order: Vec<usize> = (0..cols.len()).filter(|i| shown[*i]).collect();
    order.sort_by_key(|i| (cols[*i].greedy, cols[*i].prio));
    for &i in &order {
        let desired = want
            .get(i)
            .copied()
            .unwrap_or(0)
            .clamp(cols[i].min, cols[i].max);
        let grow = ((desired - w[i]) as u32).min(left);
        w[i] += grow as u16;
        left -= grow;
    }
    // What is left goes to the greedy columns (messages, images); without one, it stays as
    // space at the right rather than stretching names apart from their numbers.
    let flex: Vec<usize> = order
        .iter()
        .copied()
        .filter(|i| cols[*i].max == u16::MAX && cols[*i].greedy)
        .collect();
    if !flex.is_empty() {
        let each = left / flex.len() as u32;
        let mut extra = left % flex.len() as u32;
        for &i in &flex {
            let mut g = each;
            if extra > 0 {
                g += 1;
                extra -= 1;
            }
            w[i] += g as u16;
        }
    }
    let total_w = w.iter().map(|x| *x as u32).sum::<u32>();
    if total_w > total as u32
        && let Some(last) = w.iter().rposition(|x| *x > 0)
    {
        // Only one column left and it does not fit: cut it to the space there is.
        w[last] = w[last].saturating_sub((total_w - total as u32) as u16);
    }
    w
}

fn put(buf: &mut Buffer, x: u16, y: u16, w: u16, col: &Col, cell: &Cell) {
    if w == 0 {
        return;
    }
    let text = if col.clip {
        cell.0.chars().take(w as usize).collect()
    } else if col.keep_tail {
        fit_left(&cell.0, w as usize)
    } else {
        fit(&cell.0, w as usize)
    };
    let tw = width(&text) as u16;
    let x = if col.right {
        x + w.saturating_sub(tw)
    } else {
        x
    };
    buf.set_stringn(x, y, &text, w as usize, cell.1);
}

/// Paint a header row (if `header`) and `rows` into `area`; `selected` is an index into `rows`.
pub fn draw(
    buf: &mut Buffer,
    area: Rect,
    cols: &[Col],
    header: Option<Style>,
    rows: &[Vec<Cell>],
    selected: Option<(usize, Style)>,
) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let mut want: Vec<u16> = cols
        .iter()
        .map(|c| {
            if header.is_some() {
                width(c.title) as u16
            } else {
                0
            }
        })
        .collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(want.len()) {
            want[i] = want[i].max(width(&cell.0).min(u16::MAX as usize) as u16);
        }
    }
    let w = widths(cols, area.width, &want);
    let mut y = area.y;
    if let Some(hs) = header {
        let mut x = area.x;
        for (c, cw) in cols.iter().zip(&w) {
            if *cw == 0 {
                continue;
            }
            put(buf, x, y, *cw, c, &(c.title.to_owned(), hs));
            x += cw + 1;
        }
        y += 1;
    }
    for (i, row) in rows.iter().enumerate() {
        if y >= area.bottom() {
            break;
        }
        let line = Rect::new(area.x, y, area.width, 1);
        // The selected row takes the selection style, except badges (cells with their own
        // background, or reversed in the mono theme): an ImagePullBackOff stays red, or
        // underlined, under the cursor.
        let sel = selected.filter(|(s, _)| *s == i).map(|(_, st)| st);
        if let Some(st) = sel {
            buf.set_style(line, st);
        }
        let mut x = area.x;
        for ((c, cw), cell) in cols.iter().zip(&w).zip(row) {
            if *cw == 0 {
                continue;
            }
            match sel {
                Some(st) if !is_badge(cell.1) => put(buf, x, y, *cw, c, &(cell.0.clone(), st)),
                _ => put(buf, x, y, *cw, c, cell),
            }
            x += cw + 1;
        }
        y += 1;
    }
}

fn is_badge(style: Style) -> bool {
    style.bg.is_some()
        || style
            .add_modifier
            .contains(ratatui::style::Modifier::REVERSED)
}

/// First visible row for a list of `len` rows in `height` lines with the cursor at `selected`,
/// starting from the remembered `offset` (kept when it already shows the cursor).
pub fn window(selected: usize, offset: usize, len: usize, height: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    let mut start = offset.min(len - height);
    if selected < start {
        start = selected;
    } else if selected >= start + height {
        start = selected + 1 - height;
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_drops_low_priority_columns() {
        let cols = [
            Col::flex("NAME", 8, 0),
            Col::new("AGE", 4, 4, 1),
            Col::new("NODE", 10, 20, 3),
        ];
        // Content decides how far bounded columns grow; the flexible one takes the rest.
        assert_eq!(widths(&cols, 40, &[5, 3, 12]), vec![8, 4, 12]);
        let greedy = [Col::flex("MSG", 8, 0).greedy(), Col::new("OBJ", 4, 30, 2)];
        assert_eq!(widths(&greedy, 40, &[80, 20]), vec![19, 20]);
        assert_eq!(widths(&cols, 40, &[5, 3, 30]), vec![8, 4, 20]);
        assert_eq!(widths(&cols, 40, &[30, 3, 30]), vec![24, 4, 10]);
        assert_eq!(widths(&cols, 20, &[20, 0, 0]), vec![15, 4, 0]);
        assert_eq!(widths(&cols, 6, &[0, 0, 0]), vec![6, 0, 0]);
    }

    #[test]
    fn window_follows_cursor() {
        assert_eq!(window(0, 0, 100, 10), 0);
        assert_eq!(window(15, 0, 100, 10), 6);
        assert_eq!(window(15, 10, 100, 10), 10);
        assert_eq!(window(3, 10, 100, 10), 3);
        assert_eq!(window(99, 95, 100, 10), 90);
        assert_eq!(window(5, 0, 8, 10), 0);
    }
}
