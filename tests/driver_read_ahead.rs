//! The server's read-ahead (`tftp_driver::read_ahead`) returns exactly what a plain
//! positional read returns, for any file size and any sequence of reads (sequential like a
//! lock-step sender, or jumping like a sender after a rewind), including at and past the end
//! of the file (R-XFR-2: a short read is where the file ends, so a wrong count would end a
//! transfer early or late).

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;

use quickcheck::{QuickCheck, TestResult};
use tftp_driver::read_ahead::{ReadAhead, READ_AHEAD, SMALL_READ};

fn temp_file(len: usize, tag: &str) -> (std::path::PathBuf, Vec<u8>) {
    let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 253) as u8).collect();
    let path = std::env::temp_dir().join(format!("read-ahead-{}-{tag}-{len}", std::process::id()));
    File::create(&path).unwrap().write_all(&bytes).unwrap();
    (path, bytes)
}

/// Plain `pread` until full or end of file: what the read-ahead must match.
fn plain(file: &File, offset: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    let mut done = 0;
    while done < len {
        match file
            .read_at(&mut buf[done..], offset + done as u64)
            .unwrap()
        {
            0 => break,
            n => done += n,
        }
    }
    buf.truncate(done);
    buf
}

fn check(len: usize, reads: &[(u64, usize)], tag: &str) -> bool {
    let (path, _) = temp_file(len, tag);
    let direct = File::open(&path).unwrap();
    let mut ahead = ReadAhead::new(File::open(&path).unwrap());
    let ok = reads.iter().all(|&(offset, want)| {
        let mut buf = vec![0xAA; want];
        let n = ahead.read_at(offset, &mut buf).unwrap();
        buf.truncate(n);
        buf == plain(&direct, offset, want)
    });
    std::fs::remove_file(&path).unwrap();
    ok
}

// R-XFR-2: a lock-step sender's block reads, for file sizes around the block and read-ahead
// boundaries (0, 511, 512, 513 bytes; one read-ahead exactly; one past it).
#[test]
fn r_xfr_2_sequential_block_reads_match_plain_reads() {
    for len in [
        0,
        511,
        512,
        513,
        READ_AHEAD - 1,
        READ_AHEAD,
        READ_AHEAD + 1,
        100_000,
    ] {
        for blksize in [
            8,
            512,
            1468,
            SMALL_READ,
            SMALL_READ + 1,
            8192,
            READ_AHEAD,
            65464,
        ] {
            let blocks = len / blksize + 2; // through the end, and a read past it
            let reads: Vec<(u64, usize)> = (0..blocks)
                .map(|b| ((b * blksize) as u64, blksize))
                .collect();
            assert!(check(len, &reads, "seq"), "len {len} blksize {blksize}");
        }
    }
}

// Any reads in any order (a rewind re-reads, a gap skips ahead) match plain reads.
#[test]
fn any_read_sequence_matches_plain_reads() {
    fn prop(len: u16, reads: Vec<(u16, u16)>) -> TestResult {
        let len = usize::from(len) % 70_000;
        let reads: Vec<(u64, usize)> = reads
            .iter()
            .map(|&(o, l)| (u64::from(o) % (len as u64 + 600), usize::from(l) % 20_000))
            .collect();
        TestResult::from_bool(check(len, &reads, "qc"))
    }
    QuickCheck::new()
        .tests(300)
        .quickcheck(prop as fn(u16, Vec<(u16, u16)>) -> TestResult);
}
