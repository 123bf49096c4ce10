//! `consentry-node db-weights`: what one read and one write of this chain's state cost on this
//! machine, written out as the runtime's `DbWeight`
//! (`chain/runtime/src/weights/db_weights.rs`, `scripts/weights.sh db`).
//!
//! Reads are timed the way the SDK's `benchmark storage` times them: every key of the state once,
//! in random order, through the client with no trie cache.
//!
//! Writes are not. The SDK's command in the release this workspace pins commits every write on
//! its own, so each one pays a whole storage-root recomputation down its trie path and a database
//! commit. A block does neither per write: its writes share one root computation and one commit.
//! Committed one at a time, a write measured 37–57 µs on this VM, several times what it adds to a
//! full block (polkadot-sdk#7535 describes the same over-estimate; later SDK releases batch the
//! writes of their own benchmark). Here writes of random keys get new random values of the same
//! size and are committed `--batch-size` at a time (one root, one commit per batch), and the time
//! per key is reported for a range of batch sizes so the choice is visible. Every new value
//! differs from the old one: an unchanged value leaves the trie as it was and costs next to
//! nothing, and keys holding nothing (the audit log's per-record index keys, half the state
//! after a throughput run) would otherwise all be written unchanged; they get one byte.
//!
//! The command writes trie nodes into the database and removes again those that were new, so the
//! state stays intact; still, run it on a copy of a node's database, never a live node's.

// The database handles it needs exist in benchmark builds only; elsewhere the command refuses.
#![cfg_attr(not(feature = "runtime-benchmarks"), allow(dead_code))]

use clap::Args;
use sc_cli::{CliConfiguration, DatabaseParams, PruningParams, Result, SharedParams};
use sc_client_api::{Backend as ClientBackend, StorageProvider, UsageProvider};
use sc_client_db::{DbHash, DbStateBuilder};
use sp_blockchain::HeaderBackend;
use sp_database::{ColumnId, Database, Transaction};
use sp_runtime::traits::{Block as BlockT, HashingFor, Header as HeaderT};
use sp_state_machine::{Backend as _, Storage};
use sp_storage::StateVersion;
use std::{path::PathBuf, sync::Arc, time::Duration, time::Instant};

/// Batch sizes the write cost is reported for, besides the chosen one.
const REPORTED_BATCHES: [usize; 5] = [1, 10, 100, 1_000, 10_000];

/// Measures this chain's per-key database read and write costs on a node's database.
#[derive(Debug, clap::Parser)]
pub struct DbWeightsCmd {
    #[allow(missing_docs)]
    #[clap(flatten)]
    pub shared_params: SharedParams,

    #[allow(missing_docs)]
    #[clap(flatten)]
    pub database_params: DatabaseParams,

    #[allow(missing_docs)]
    #[clap(flatten)]
    pub pruning_params: PruningParams,

    #[allow(missing_docs)]
    #[clap(flatten)]
    pub params: DbWeightsParams,
}

/// What to measure and where to write it.
#[derive(Debug, Clone, Args)]
pub struct DbWeightsParams {
    /// Writes committed together for the weight written out. Write weights only bind in blocks
    /// full by weight, and a block full of writes commits tens of thousands of keys (1.5 s of
    /// normal-class weight at 20–30 µs a write); 10,000 still leans to the costly side.
    #[arg(long, default_value_t = 10_000)]
    pub batch_size: usize,

    /// The most keys written per reported batch size (the state's keys, shuffled).
    #[arg(long, default_value_t = 50_000)]
    pub max_keys: usize,

    /// Times to run the whole measurement; the slowest run's figures are kept.
    #[arg(long, default_value_t = 3)]
    pub runs: u32,

    /// The runtime's state version (`RuntimeVersion::system_version`).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub state_version: u8,

    /// Where to write the generated `db_weights.rs`; nothing is written without it.
    #[arg(long)]
    pub weight_path: Option<PathBuf>,
}

impl CliConfiguration for DbWeightsCmd {
    fn shared_params(&self) -> &SharedParams {
        &self.shared_params
    }
    fn database_params(&self) -> Option<&DatabaseParams> {
        Some(&self.database_params)
    }
    fn pruning_params(&self) -> Option<&PruningParams> {
        Some(&self.pruning_params)
    }
    // No trie cache: every read and every root computation goes to the database, as for a node
    // whose cache holds none of the keys a block touches.
    fn trie_cache_maximum_size(&self) -> Result<Option<usize>> {
        Ok(None)
    }
}

/// Nanoseconds per key: the mean over every key measured, and how many there were.
#[derive(Debug, Clone, Copy)]
struct PerKey {
    nanos: u64,
    keys: usize,
}

impl PerKey {
    fn of(total: Duration, keys: usize) -> Self {
        Self {
            nanos: (total.as_nanos() / keys.max(1) as u128) as u64,
            keys,
        }
    }
}

/// The slower of a kept measurement and a new one.
fn slower(kept: Option<PerKey>, new: PerKey) -> PerKey {
    match kept {
        Some(kept) if kept.nanos >= new.nanos => kept,
        _ => new,
    }
}

/// A write's time per key, and the part of it that computing the storage root took (the rest
/// is the database commit).
#[derive(Debug, Clone, Copy)]
struct WritePerKey {
    total: PerKey,
    root_nanos: u64,
}

impl DbWeightsCmd {
    /// Measures reads and writes on the best block's state of `client`'s database.
    pub fn run<Block, BA, C>(
        &self,
        client: Arc<C>,
        (db, col): (Arc<dyn Database<DbHash>>, ColumnId),
        storage: Arc<dyn Storage<HashingFor<Block>>>,
    ) -> Result<()>
    where
        Block: BlockT<Hash = DbHash>,
        BA: ClientBackend<Block>,
        C: UsageProvider<Block> + StorageProvider<Block, BA> + HeaderBackend<Block>,
    {
        let p = &self.params;
        if p.batch_size == 0 {
            return Err("--batch-size must be at least 1".into());
        }
        let version = match p.state_version {
            0 => StateVersion::V0,
            _ => StateVersion::V1,
        };
        let chain = client.usage_info().chain;
        let (best, number) = (chain.best_hash, chain.best_number);
        let root = *client
            .header(best)?
            .ok_or("the best block's header is missing")?
            .state_root();
        let trie = DbStateBuilder::<HashingFor<Block>>::new(storage, root).build();
        let mut rng = SplitMix(0x5eed_c0de);

        let mut pairs = Vec::new();
        for pair in trie.pairs(Default::default())? {
            pairs.push(pair?);
        }
        if pairs.is_empty() {
            return Err("the state is empty: point --base-path at a node's database".into());
        }
        rng.shuffle(&mut pairs);
        log::info!("{} keys in the state of block #{number}", pairs.len());

        let mut sizes: Vec<usize> = REPORTED_BATCHES.to_vec();
        if !sizes.contains(&p.batch_size) {
            sizes.push(p.batch_size);
            sizes.sort();
        }
        // This VM's timings vary by a quarter between runs; the slowest run is the one kept.
        let (mut read, mut write) = (None::<PerKey>, None::<PerKey>);
        for run in 1..=p.runs.max(1) {
            let mut total = Duration::ZERO;
            for (key, _) in &pairs {
                let key = sp_storage::StorageKey(key.clone());
                let start = Instant::now();
                let value = client.storage(best, &key)?;
                total += start.elapsed();
                std::hint::black_box(value);
            }
            let this = PerKey::of(total, pairs.len());
            println!(
                "run {run} read: {} ns per key ({} keys, each once, no cache)",
                this.nanos, this.keys
            );
            read = Some(slower(read, this));

            for &size in &sizes {
                let keys = &pairs[..pairs.len().min(p.max_keys).max(size.min(pairs.len()))];
                let this = time_writes::<Block>(&trie, &db, col, keys, size, version, &mut rng)?;
                println!(
                    "run {run} write, {size:>6} per commit: {:>6} ns per key, of which root {:>6} ns ({} keys)",
                    this.total.nanos, this.root_nanos, this.total.keys
                );
                if size == p.batch_size {
                    write = Some(slower(write, this.total));
                }
            }
        }
        let (read, write) = (
            read.expect("at least one run"),
            write.expect("the chosen batch size is among those measured"),
        );
        println!(
            "kept (slowest run): read {} ns, write {} ns at {} per commit",
            read.nanos, write.nanos, p.batch_size
        );

        if let Some(path) = &p.weight_path {
            let text = render(read, write, p.batch_size, p.runs.max(1), number.to_string());
            std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
            println!("wrote {}", path.display());
        }
        Ok(())
    }
}

/// Writes `keys` new random values of their old sizes (see [`SplitMix::changed`]), `batch` per
/// storage root and commit, and
/// returns the time per key. Each batch's new trie nodes are removed again afterwards (untimed).
fn time_writes<Block: BlockT<Hash = DbHash>>(
    trie: &sc_client_db::DbState<HashingFor<Block>>,
    db: &Arc<dyn Database<DbHash>>,
    col: ColumnId,
    keys: &[(Vec<u8>, Vec<u8>)],
    batch: usize,
    version: StateVersion,
    rng: &mut SplitMix,
) -> Result<WritePerKey> {
    let mut total = Duration::ZERO;
    let mut roots = Duration::ZERO;
    let mut written = 0;
    for chunk in keys.chunks(batch) {
        let changes: Vec<(Vec<u8>, Vec<u8>)> = chunk
            .iter()
            .map(|(k, v)| (k.clone(), rng.changed(v)))
            .collect();

        let start = Instant::now();
        let (_, mut nodes) =
            trie.storage_root(changes.iter().map(|(k, v)| (&k[..], Some(&v[..]))), version);
        let rooted = start.elapsed();

        // Which inserted nodes the database lacks decides what may be removed afterwards;
        // looking that up is not part of a write, so it is not timed.
        let mut inserts = Vec::new();
        for (mut key, (value, rc)) in nodes.drain() {
            if rc > 0 {
                db.sanitize_key(&mut key);
                let fresh = db.get(col, &key).is_none();
                inserts.push((key, value, fresh));
            }
        }

        let start = Instant::now();
        let mut tx = Transaction::<DbHash>::default();
        for (key, value, _) in &inserts {
            tx.set(col, key, value);
        }
        db.commit(tx)
            .map_err(|e| format!("writing to the database: {e}"))?;
        total += rooted + start.elapsed();
        roots += rooted;
        written += chunk.len();

        let mut undo = Transaction::<DbHash>::default();
        for (key, _, fresh) in &inserts {
            if *fresh {
                undo.remove(col, key);
            }
        }
        db.commit(undo)
            .map_err(|e| format!("removing the benchmark's nodes: {e}"))?;
    }
    Ok(WritePerKey {
        total: PerKey::of(total, written),
        root_nanos: PerKey::of(roots, written).nanos,
    })
}

/// The generated `db_weights.rs`.
fn render(read: PerKey, write: PerKey, batch: usize, runs: u32, block: String) -> String {
    format!(
        r#"//! THIS FILE WAS GENERATED by `consentry-node db-weights` (`scripts/weights.sh db`).
//!
//! This chain's cost of one database read and one database write on the reference machine,
//! measured on the state of block #{block} of a `--dev` node's ParityDB database.
//! Read: the mean over {reads} keys, each read once in random order with no cache.
//! Write: the mean over {writes} keys given new random values and committed {batch} per storage
//! root and commit, as a block commits its writes together (`docs/WEIGHTS.md`).
//! Each figure is the slowest of {runs} runs.

use frame_support::{{
    parameter_types,
    weights::{{constants, RuntimeDbWeight}},
}};

parameter_types! {{
    /// One read and one write of this chain's state on the reference machine.
    pub const ConsentryDbWeight: RuntimeDbWeight = RuntimeDbWeight {{
        read: {read_ns} * constants::WEIGHT_REF_TIME_PER_NANOS,
        write: {write_ns} * constants::WEIGHT_REF_TIME_PER_NANOS,
    }};
}}

#[cfg(test)]
mod test_db_weights {{
    use super::ConsentryDbWeight as W;
    use frame_support::weights::constants;

    /// Guards against a measurement gone wrong: between a microsecond and a millisecond each.
    #[test]
    fn sane() {{
        for (what, weight) in [("read", W::get().reads(1)), ("write", W::get().writes(1))] {{
            assert!(
                weight.ref_time() >= constants::WEIGHT_REF_TIME_PER_MICROS,
                "{{what}} under 1 µs"
            );
            assert!(
                weight.ref_time() <= constants::WEIGHT_REF_TIME_PER_MILLIS,
                "{{what}} over 1 ms"
            );
        }}
    }}
}}
"#,
        reads = read.keys,
        writes = write.keys,
        read_ns = group(read.nanos),
        write_ns = group(write.nanos),
    )
}

/// `12345` as `12_345`, as Rust literals in the generated weights are written.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('_');
        }
        out.push(c);
    }
    out
}

/// A small deterministic generator (SplitMix64): shuffles keys and fills values, so two runs on
/// the same database touch the same keys.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// A random value of `old`'s size (one byte if `old` is empty) that differs from `old`.
    fn changed(&mut self, old: &[u8]) -> Vec<u8> {
        let mut new = self.bytes(old.len().max(1));
        if new == old {
            new[0] = !new[0];
        }
        new
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{group, slower, PerKey, SplitMix};

    #[test]
    fn shuffles_are_repeatable_permutations() {
        let ordered: Vec<u32> = (0..1_000).collect();
        let (mut a, mut b) = (ordered.clone(), ordered.clone());
        SplitMix(1).shuffle(&mut a);
        SplitMix(1).shuffle(&mut b);
        assert_eq!(a, b, "the same seed shuffles the same way");
        assert_ne!(a, ordered, "a shuffle moves keys");
        a.sort();
        assert_eq!(a, ordered, "nothing lost or repeated");
    }

    #[test]
    fn written_values_always_change() {
        let mut rng = SplitMix(7);
        assert_eq!(rng.changed(&[]).len(), 1, "an empty value gets one byte");
        for len in [1usize, 2, 8, 290] {
            for _ in 0..1_000 {
                let old = rng.bytes(len);
                let new = rng.changed(&old);
                assert_eq!(new.len(), len);
                assert_ne!(new, old);
            }
        }
        // A one-byte value equal to the random draw is still changed.
        let mut twin = SplitMix(9);
        let drawn = SplitMix(9).bytes(1);
        assert_ne!(twin.changed(&drawn), drawn);
    }

    #[test]
    fn the_slowest_run_is_kept() {
        let (fast, slow) = (PerKey { nanos: 10, keys: 5 }, PerKey { nanos: 30, keys: 5 });
        assert_eq!(slower(None, fast).nanos, 10);
        assert_eq!(slower(Some(fast), slow).nanos, 30);
        assert_eq!(slower(Some(slow), fast).nanos, 30);
    }

    #[test]
    fn literals_are_grouped_in_threes() {
        assert_eq!(group(7), "7");
        assert_eq!(group(1_000), "1_000");
        assert_eq!(group(37_126), "37_126");
        assert_eq!(group(1_234_567), "1_234_567");
    }
}
