//! Parsers for the small languages of QStash's headers: durations, retry-delay expressions,
//! cron schedules, flow-control values and `Retry-After`-family response headers.
