//! The progress line on a terminal: bytes, percent when the size is known, rate. Nothing
//! is drawn when stderr is not a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

const WITH_SIZE: &str =
    "{prefix} [{bar:30}] {bytes}/{total_bytes} {percent}% {binary_bytes_per_sec} eta {eta}";
const WITHOUT_SIZE: &str = "{prefix} {spinner} {bytes} {binary_bytes_per_sec} {elapsed}";

/// A progress line for one transfer.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    sized: bool,
}

impl Progress {
    /// A progress line labelled `label`, hidden when stderr is not a terminal.
    pub fn new(label: &str) -> Progress {
        let visible = std::io::stderr().is_terminal();
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_prefix(label.to_string());
        set_style(&bar, WITHOUT_SIZE);
        if visible {
            // Keeps the rate and spinner moving while the network is quiet.
            bar.enable_steady_tick(Duration::from_millis(200));
        }
        Progress { bar, sized: false }
    }

    /// `moved` bytes so far, of `total` when known.
    pub fn update(&mut self, moved: u64, total: Option<u64>) {
        if let (Some(total), false) = (total, self.sized) {
            self.sized = true;
            self.bar.set_length(total);
            set_style(&self.bar, WITH_SIZE);
        }
        self.bar.set_position(moved);
    }

    /// Removes the line.
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }
}

fn set_style(bar: &ProgressBar, template: &str) {
    // The templates are constants; should one be refused, the default style stays.
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
}
