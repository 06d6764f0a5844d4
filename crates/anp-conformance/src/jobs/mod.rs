//! Cases on jobs through the Store seam, one file per area. Each case takes a fresh harness;
//! time is passed explicitly (the store never reads the clock for these).

pub mod ack;
pub mod cancel_delete;
pub mod enqueue;
pub mod fetch;
pub mod fetch_queues;
pub mod lease;
pub mod list;
pub mod promote;
pub mod retry;
pub mod unique;
