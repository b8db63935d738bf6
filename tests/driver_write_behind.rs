//! The receiver's write-behind (`tftp_driver::write_behind`) leaves the file exactly as
//! plain positional writes in the same order would, for any sequence of writes: in order
//! like a lock-step or windowed download, jumping ahead like a receiver that keeps blocks from
//! beyond a gap, overlapping, small and large (R-XFR-2, R-SRV-3: the bytes an upload commits
//! are the bytes received).

#![cfg(unix)]

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use quickcheck::{QuickCheck, TestResult};
use tftp_driver::write_behind::{WriteBehind, SMALL_WRITE, WRITE_BEHIND};

struct Scratch {
    path: PathBuf,
    file: File,
}

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!(
            "write-behind-{}-{tag}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        Scratch { path, file }
    }

    fn contents(&self) -> Vec<u8> {
        std::fs::read(&self.path).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The bytes of write number `i`: distinct per write, so a lost or reordered write shows.
fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 7 + j * 13 + 1) as u8).collect()
}

/// Applies `writes` through a write-behind and directly; true when both files are equal and
/// nothing was on file late (after the flush).
fn same_as_plain(writes: &[(u64, usize)], tag: &str) -> bool {
    let behind = Scratch::new(&format!("{tag}-behind"));
    let direct = Scratch::new(&format!("{tag}-direct"));
    let mut wb = WriteBehind::new();
    for (i, &(offset, len)) in writes.iter().enumerate() {
        let data = payload(i, len);
        wb.write_at(&behind.file, offset, &data).unwrap();
        direct.file.write_all_at(&data, offset).unwrap();
    }
    wb.flush(&behind.file).unwrap();
    behind.contents() == direct.contents()
}

// R-XFR-2: a download's blocks in order, at the block sizes people use, around the buffer's
// size (the last block short, or empty).
#[test]
fn r_xfr_2_in_order_blocks_land_as_written() {
    for blksize in [
        8usize,
        512,
        1428,
        1468,
        4096,
        SMALL_WRITE,
        SMALL_WRITE + 1,
        65464,
    ] {
        for total in [
            0,
            blksize - 1,
            blksize,
            3 * blksize + 1,
            WRITE_BEHIND,
            WRITE_BEHIND + 1,
            5 * WRITE_BEHIND + 17,
        ] {
            let mut writes = Vec::new();
            let mut offset = 0;
            loop {
                let len = blksize.min(total - offset);
                writes.push((offset as u64, len));
                offset += len;
                if len < blksize {
                    break;
                }
            }
            assert!(
                same_as_plain(&writes, &format!("seq-{blksize}-{total}")),
                "blksize {blksize}, {total} bytes"
            );
        }
    }
}

// R-XFR-2: blocks kept from ahead of a gap are written at their offsets before the missing
// ones; the result is the same file.
#[test]
fn r_xfr_2_blocks_after_a_gap_land_at_their_offsets() {
    let b = 1468u64;
    let mut writes: Vec<(u64, usize)> = (0..10).map(|i| (i * b, 1468)).collect();
    // blocks 10 and 11 lost; 12..20 arrive, then 10 and 11, then the rest and a short last.
    writes.extend((12..20).map(|i| (i * b, 1468)));
    writes.extend([(10 * b, 1468), (11 * b, 1468)]);
    writes.extend((20..40).map(|i| (i * b, 1468)));
    writes.push((40 * b, 100));
    assert!(same_as_plain(&writes, "gap"));
}

// R-XFR-2: any sequence of writes (offsets within 200 KiB, lengths from 0 to past the direct
// threshold, overlapping or not) leaves the same file as plain writes.
#[test]
fn r_xfr_2_any_write_sequence_matches_plain_writes() {
    fn prop(writes: Vec<(u32, u16)>) -> TestResult {
        let writes: Vec<(u64, usize)> = writes
            .into_iter()
            .take(64)
            .map(|(o, l)| {
                (
                    u64::from(o % (200 * 1024)),
                    usize::from(l) % (SMALL_WRITE + 2048),
                )
            })
            .collect();
        TestResult::from_bool(same_as_plain(&writes, "any"))
    }
    QuickCheck::new()
        .tests(300)
        .quickcheck(prop as fn(Vec<(u32, u16)>) -> TestResult);
}

/// Eight lock-step blocks of 512 bytes written through a fresh write-behind into a fresh file.
fn eight_blocks_of_512(tag: &str) -> (Scratch, WriteBehind) {
    let s = Scratch::new(tag);
    let mut wb = WriteBehind::new();
    let data = payload(1, 512);
    for i in 0..8u64 {
        wb.write_at(&s.file, i * 512, &data).unwrap();
    }
    (s, wb)
}

// R-SRV-3: pending bytes are not on file before the flush when they were gathered, and are
// all there after it (the upload's commit flushes before it fsyncs).
#[test]
fn r_srv_3_gathered_bytes_reach_the_file_on_flush() {
    let (s, mut wb) = eight_blocks_of_512("flush");
    let before = s.contents().len();
    assert!(
        before < 8 * 512,
        "all 8 blocks were written at once ({before} bytes on file): nothing gathered"
    );
    wb.flush(&s.file).unwrap();
    assert_eq!(s.contents().len(), 8 * 512);
}

// R-SRV-3: a discarded upload drops what was gathered; a later flush writes nothing of it.
#[test]
fn r_srv_3_cleared_bytes_never_reach_the_file() {
    let (s, mut wb) = eight_blocks_of_512("clear");
    let before = s.contents();
    wb.clear();
    wb.flush(&s.file).unwrap();
    assert_eq!(s.contents(), before, "a flush after clear wrote something");
    assert!(before.len() < 8 * 512, "nothing was gathered to clear");
}
