//! The bounds of every duration gantry reads (configuration, flags,
//! environment), checked where it is read so a deadline never overflows.

use std::time::Duration;

/// The longest duration gantry accepts: a week. Anything longer is a mistake,
/// and far longer ones overflow the clock when a deadline is computed.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// `d` when it is positive and at most [`MAX_DURATION`].
pub fn bounded(d: Duration) -> Result<Duration, String> {
    if d.is_zero() {
        return Err("must be positive".into());
    }
    if d > MAX_DURATION {
        return Err(format!(
            "{} is longer than the most gantry accepts ({})",
            humantime::format_duration(d),
            humantime::format_duration(MAX_DURATION)
        ));
    }
    Ok(d)
}
