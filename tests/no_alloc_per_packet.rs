//! No allocation per packet while a transfer runs (DESIGN.md: "buffers are sized once from the
//! negotiated blksize and windowsize").
//!
//! A counting global allocator (this file is its own test binary, so it affects nothing else)
//! counts the allocations made on the test's thread while the in-memory pair of `tftp_pair`
//! (client get <-> server read on a perfect network, no sockets, no files: the pair of
//! `benches/transfer.rs`) runs 10,000 DATA blocks and their ACKs, after a warm-up that covers
//! the request, the OACK, ACK 0 and the first windows (where the sessions size their buffers
//! and the network fills its pool). The harness allocates nothing per packet itself, so any
//! count is the core's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tftp_pair::{File, Network, Pair, Setup, Source};
use tftp_proto::Mode;

/// Counts allocations (alloc, alloc_zeroed, realloc) made on threads that switched counting on.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn note() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed through to `System` unchanged; counting has no effect on memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// DATA blocks run before counting: negotiation, ACK 0, and the first windows.
const WARM_UP_BLOCKS: u64 = 200;
/// DATA blocks (with their ACKs) counted.
const COUNTED_BLOCKS: u64 = 10_000;

/// Allocations on this thread during `COUNTED_BLOCKS` blocks of a transfer after the warm-up.
/// The transfer then runs to its end, and must have succeeded.
fn allocations_per_transfer(blksize: u16, windowsize: u16, mode: Mode) -> u64 {
    // Text with line ends and a bare CR, so netascii translates in both directions.
    let pattern = b"ldr 0x80000000 vmlinuz\nroot=/dev/nfs\rip=dhcp\n".repeat(4096);
    let blocks = WARM_UP_BLOCKS + COUNTED_BLOCKS + 100;
    let file_len = blocks * u64::from(blksize) + 7;
    let case = format!("blksize {blksize} window {windowsize} {mode:?}");
    let source = Source::repeating(&pattern[..], file_len);
    let mut out = vec![0u8; 1 << 20];
    let setup = Setup::download(
        mode,
        blksize,
        windowsize,
        File::wrapping_into(&mut out),
        File::serving(source),
    );
    let mut pair = Pair::new(setup, Network::perfect(Duration::ZERO));
    let writes = |pair: &Pair<'_>| pair.client().stats().writes;
    while writes(&pair) < WARM_UP_BLOCKS {
        assert!(pair.step(), "{case}: ended in the warm-up");
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    let start = writes(&pair);
    while writes(&pair) < start + COUNTED_BLOCKS && pair.step() {}
    COUNTING.with(|c| c.set(false));
    let counted = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert!(
        writes(&pair) >= start + COUNTED_BLOCKS,
        "{case}: ended early"
    );
    pair.run();
    let (got, sent) = pair.completed().expect("the transfer completes");
    assert_eq!(sent.bytes, file_len, "{case}");
    assert_eq!(got.bytes, file_len, "{case}");
    assert_eq!((got.retransmits, sent.retransmits), (0, 0), "{case}");
    counted
}

// Performance issue, point "no allocation per packet" (DESIGN.md: no allocation per packet
// while a transfer runs): exactly 0 allocations over 10,000 DATA+ACK exchanges after the
// warm-up, for lock-step 512, a windowed 1468, the largest blksize, and netascii.
#[test]
fn r_xfr_no_allocation_per_packet() {
    // The counter counts: one boxed value on this thread is one allocation.
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    drop(std::hint::black_box(Box::new(7u64)));
    COUNTING.with(|c| c.set(false));
    assert_eq!(ALLOCATIONS.load(Ordering::Relaxed) - before, 1);

    let cases = [
        (512, 1, Mode::Octet),
        (1468, 16, Mode::Octet),
        (65464, 4, Mode::Octet),
        (1468, 16, Mode::Netascii),
    ];
    let counts: Vec<_> = cases
        .iter()
        .map(|&(b, w, m)| ((b, w, m), allocations_per_transfer(b, w, m)))
        .collect();
    for (case, n) in &counts {
        println!("{case:?}: {n} allocations over {COUNTED_BLOCKS} blocks");
    }
    assert!(
        counts.iter().all(|(_, n)| *n == 0),
        "the core allocates while a transfer runs: {counts:?}"
    );
}
