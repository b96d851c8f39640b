//! Where everything goes, as a pure function of the terminal size. `draw` uses it to paint and
//! `update` uses it to page and to map mouse clicks to rows, so both agree.

use ratatui::layout::Rect;

use super::state::Focus;

/// Below this the screen shows "terminal too small" instead of panes.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;
/// From this height the ReplicaSets get their own box; below, they go in the pods title.
pub const RS_BOX_MIN_HEIGHT: u16 = 32;
pub const RS_BOX_ROWS: u16 = 3;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScreenLayout {
    pub too_small: bool,
    pub area: Rect,
    /// Outer boxes (with borders).
    pub repositories: Rect,
    pub tags: Rect,
    pub deployments: Rect,
    pub replicasets: Option<Rect>,
    pub pods: Rect,
    pub events: Rect,
    pub hints: Rect,
    pub status: Rect,
}

/// The rows area inside a box: borders off, header row off when the list has one.
pub fn body(outer: Rect, header: bool) -> Rect {
    let inner = Rect {
        x: outer.x.saturating_add(1),
        y: outer.y.saturating_add(1),
        width: outer.width.saturating_sub(2),
        height: outer.height.saturating_sub(2),
    };
    if header && inner.height > 0 {
        Rect {
            y: inner.y + 1,
            height: inner.height - 1,
            ..inner
        }
    } else {
        inner
    }
}

impl ScreenLayout {
    pub fn compute(width: u16, height: u16) -> Self {
        let area = Rect::new(0, 0, width, height);
        if width < MIN_WIDTH || height < MIN_HEIGHT {
            return Self {
                too_small: true,
                area,
                ..Self::default()
            };
        }
        let status = Rect::new(0, height - 1, width, 1);
        let hints = Rect::new(0, height - 2, width, 1);
        let main_h = height - 2;
        let events_h = (main_h * 3 / 10).max(6);
        let top_h = main_h - events_h;
        let events = Rect::new(0, top_h, width, events_h);

        // Wide screens give the registry more room (its WHERE column); at 80 columns the pods need it.
        let left_w = if width >= 100 {
            (width * 2 / 5).clamp(26, 56)
        } else {
            (width * 36 / 100).clamp(26, 52)
        };
        let right_w = width - left_w;
        let repos_h = (top_h / 3).max(4);
        let repositories = Rect::new(0, 0, left_w, repos_h);
        let tags = Rect::new(0, repos_h, left_w, top_h - repos_h);

        let deploy_h = (top_h * 2 / 5).max(5);
        let deployments = Rect::new(left_w, 0, right_w, deploy_h);
        let (replicasets, pods_y) = if height >= RS_BOX_MIN_HEIGHT {
            let rs_h = RS_BOX_ROWS + 3;
            (
                Some(Rect::new(left_w, deploy_h, right_w, rs_h)),
                deploy_h + rs_h,
            )
        } else {
            (None, deploy_h)
        };
        let pods = Rect::new(left_w, pods_y, right_w, top_h - pods_y);
        Self {
            too_small: false,
            area,
            repositories,
            tags,
            deployments,
            replicasets,
            pods,
            events,
            hints,
            status,
        }
    }

    pub fn outer(&self, focus: Focus) -> Rect {
        match focus {
            Focus::Repositories => self.repositories,
            Focus::Tags => self.tags,
            Focus::Deployments => self.deployments,
            Focus::Pods => self.pods,
            Focus::Events => self.events,
        }
    }

    /// The rows of a list (what a click or a page maps onto).
    pub fn rows(&self, focus: Focus) -> Rect {
        let header = !matches!(focus, Focus::Repositories | Focus::Events);
        body(self.outer(focus), header)
    }

    /// Which list a screen position falls in, and the row index within the visible rows.
    pub fn hit(&self, x: u16, y: u16) -> Option<(Focus, Option<u16>)> {
        if self.too_small {
            return None;
        }
        for focus in Focus::ORDER {
            let outer = self.outer(focus);
            if outer.contains((x, y).into()) {
                let rows = self.rows(focus);
                let row = rows.contains((x, y).into()).then(|| y - rows.y);
                return Some((focus, row));
            }
        }
        None
    }
}
