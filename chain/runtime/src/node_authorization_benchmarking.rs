//! Benchmarks of the SDK's node-authorization pallet as this runtime configures it, for its
//! generated weights (`chain/runtime/src/weights/pallet_node_authorization.rs`,
//! `scripts/weights.sh node-authorization`). The pallet ships none: its own weights are one
//! hand-written 50 µs for every call, with no storage priced at all.
//!
//! Every benchmark runs in its costliest case within the runtime's bounds: the well-known set one
//! short of `MaxWellKnownNodes` (the largest the pallet lets a call start from) and every peer id
//! one byte short of `MaxPeerIdLength`. The council's calls come with the collective's origin; root
//! stands in for it here (the same checks pass, and the origin check is not the pallet's cost).
//!
//! The owner calls (`claim_node` ... `remove_connections`) are refused by the transaction pool
//! (`permission`): nodes join the consortium by council vote only. They are benchmarked anyway,
//! because a dev chain's sudo key can still dispatch them as any account (`sudo_as`). Their
//! connection lists are unbounded in the pallet; they are measured with a full set of
//! `MaxWellKnownNodes - 1` connections added to one as large.

use crate::{AccountId, Runtime, RuntimeOrigin};
use alloc::{collections::btree_set::BTreeSet, vec::Vec};
use frame_benchmarking::{account, v2::*};
use frame_support::traits::Get;
use pallet_node_authorization::{AdditionalConnections, Owners, WellKnownNodes};
use sp_core::OpaquePeerId as PeerId;
use sp_runtime::traits::StaticLookup;

type NodeAuthorization = pallet_node_authorization::Pallet<Runtime>;
type MaxNodes = <Runtime as pallet_node_authorization::Config>::MaxWellKnownNodes;
type MaxPeerIdLength = <Runtime as pallet_node_authorization::Config>::MaxPeerIdLength;

/// What the benchmark macros expect of a pallet; only the runtime implements it.
pub trait Config: frame_system::Config {}
impl Config for Runtime {}

/// The benchmarked "pallet": the SDK's node-authorization pallet in this runtime.
pub struct Pallet<T: Config>(frame_system::Pallet<T>);

/// The `i`th peer id of the longest length the pallet accepts.
fn peer(i: u32) -> PeerId {
    let len = (<MaxPeerIdLength as Get<u32>>::get() - 1) as usize;
    let mut id = alloc::vec![0xab; len];
    id[..4].copy_from_slice(&i.to_le_bytes());
    PeerId(id)
}

/// The largest set the pallet's checks (`len < MaxWellKnownNodes`) let a call start from; also
/// the most connections the owner-call benchmarks use.
fn most_nodes() -> u32 {
    <MaxNodes as Get<u32>>::get() - 1
}

/// Fills the well-known set with `count` nodes, peer ids 0.., each owned by its own account.
fn well_known(count: u32) {
    let nodes: BTreeSet<PeerId> = (0..count).map(peer).collect();
    for i in 0..count {
        Owners::<Runtime>::insert(peer(i), account::<AccountId>("owner", i, 0));
    }
    WellKnownNodes::<Runtime>::put(nodes);
}

/// Gives `node` `count` additional connections (peer ids 2,000..).
fn connect(node: &PeerId, count: u32) {
    AdditionalConnections::<Runtime>::insert(
        node,
        (0..count).map(|i| peer(2_000 + i)).collect::<BTreeSet<_>>(),
    );
}

/// A node (peer id 1,000) claimed by `who`, with `count` connections (peer ids 2,000..).
fn claimed_with_connections(who: &AccountId, count: u32) -> PeerId {
    let node = peer(1_000);
    Owners::<Runtime>::insert(&node, who);
    connect(&node, count);
    node
}

fn lookup(who: AccountId) -> <<Runtime as frame_system::Config>::Lookup as StaticLookup>::Source {
    <Runtime as frame_system::Config>::Lookup::unlookup(who)
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn add_well_known_node() {
        well_known(most_nodes());
        let node = peer(999);
        let owner: AccountId = account("new", 0, 0);

        #[block]
        {
            NodeAuthorization::add_well_known_node(
                RuntimeOrigin::root(),
                node.clone(),
                lookup(owner),
            )
            .expect("added");
        }

        assert!(WellKnownNodes::<Runtime>::get().contains(&node));
    }

    #[benchmark]
    fn remove_well_known_node() {
        well_known(most_nodes());
        let node = peer(0);
        connect(&node, most_nodes());

        #[block]
        {
            NodeAuthorization::remove_well_known_node(RuntimeOrigin::root(), node.clone())
                .expect("removed");
        }

        assert!(!WellKnownNodes::<Runtime>::get().contains(&node));
    }

    #[benchmark]
    fn swap_well_known_node() {
        well_known(most_nodes());
        let (remove, add) = (peer(0), peer(999));
        connect(&remove, most_nodes());

        #[block]
        {
            NodeAuthorization::swap_well_known_node(RuntimeOrigin::root(), remove, add.clone())
                .expect("swapped");
        }

        assert!(WellKnownNodes::<Runtime>::get().contains(&add));
    }

    #[benchmark]
    fn reset_well_known_nodes() {
        well_known(most_nodes());
        let nodes: Vec<(PeerId, AccountId)> = (0..most_nodes())
            .map(|i| (peer(500 + i), account("reset", i, 0)))
            .collect();

        #[block]
        {
            NodeAuthorization::reset_well_known_nodes(RuntimeOrigin::root(), nodes).expect("reset");
        }

        assert!(WellKnownNodes::<Runtime>::get().contains(&peer(500)));
    }

    #[benchmark]
    fn claim_node() {
        well_known(most_nodes());
        let who: AccountId = account("claimant", 0, 0);
        let node = peer(999);

        #[block]
        {
            NodeAuthorization::claim_node(RuntimeOrigin::signed(who.clone()), node.clone())
                .expect("claimed");
        }

        assert_eq!(Owners::<Runtime>::get(&node), Some(who));
    }

    #[benchmark]
    fn remove_claim() {
        well_known(most_nodes());
        let who: AccountId = account("claimant", 0, 0);
        let node = claimed_with_connections(&who, most_nodes());

        #[block]
        {
            NodeAuthorization::remove_claim(RuntimeOrigin::signed(who), node.clone())
                .expect("removed");
        }

        assert_eq!(Owners::<Runtime>::get(&node), None);
    }

    #[benchmark]
    fn transfer_node() {
        let who: AccountId = account("claimant", 0, 0);
        let to: AccountId = account("new", 0, 0);
        let node = claimed_with_connections(&who, 0);

        #[block]
        {
            NodeAuthorization::transfer_node(
                RuntimeOrigin::signed(who),
                node.clone(),
                lookup(to.clone()),
            )
            .expect("transferred");
        }

        assert_eq!(Owners::<Runtime>::get(&node), Some(to));
    }

    #[benchmark]
    fn add_connections() {
        let who: AccountId = account("claimant", 0, 0);
        let node = claimed_with_connections(&who, most_nodes());
        let more: Vec<PeerId> = (0..most_nodes()).map(|i| peer(3_000 + i)).collect();

        #[block]
        {
            NodeAuthorization::add_connections(RuntimeOrigin::signed(who), node.clone(), more)
                .expect("added");
        }

        assert!(AdditionalConnections::<Runtime>::get(&node).contains(&peer(3_000)));
    }

    #[benchmark]
    fn remove_connections() {
        let who: AccountId = account("claimant", 0, 0);
        let node = claimed_with_connections(&who, most_nodes());
        let gone: Vec<PeerId> = (0..most_nodes()).map(|i| peer(2_000 + i)).collect();

        #[block]
        {
            NodeAuthorization::remove_connections(RuntimeOrigin::signed(who), node.clone(), gone)
                .expect("removed");
        }

        assert!(AdditionalConnections::<Runtime>::get(&node).is_empty());
    }

    impl_benchmark_test_suite!(Pallet, crate::tests::ext(), Runtime);
}
