//! Notices: the short messages over the panes' bottom right. How long each stays, and how many.

use jiff::Timestamp;

use super::action::{Level, Notice};
use super::state::{State, TimedNotice};

/// How long a notice stays (errors stay longer: they need reading).
const NOTICE_SECS: i64 = 6;
const ERROR_NOTICE_SECS: i64 = 12;
const MAX_NOTICES: usize = 4;

pub fn notify(state: &mut State, notice: Notice) {
    push_notice(state, notice, false);
}

/// A notice that stays until berth exits (an applied change the audit log lacks).
pub fn notify_sticky(state: &mut State, notice: Notice) {
    push_notice(state, notice, true);
}

fn push_notice(state: &mut State, notice: Notice, sticky: bool) {
    state.notices.push(TimedNotice {
        notice,
        at: state.now,
        sticky,
    });
    // Over the limit the oldest passing notices go first; sticky ones only when all are.
    while state.notices.len() > MAX_NOTICES {
        let i = state.notices.iter().position(|n| !n.sticky).unwrap_or(0);
        state.notices.remove(i);
    }
}

/// Drop the notices whose time is up at `now`; sticky ones stay.
pub(crate) fn expire(state: &mut State, now: Timestamp) {
    state.notices.retain(|n| {
        if n.sticky {
            return true;
        }
        let secs = if n.notice.level == Level::Error {
            ERROR_NOTICE_SECS
        } else {
            NOTICE_SECS
        };
        now.duration_since(n.at).as_secs() < secs
    });
}
