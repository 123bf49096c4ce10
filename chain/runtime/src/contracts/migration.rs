//! Contracts on a chain that started before them.
//!
//! pallet-balances and pallet-contracts joined the runtime at spec 111. A chain started on 111 or
//! later got [`Deployer`]'s endowment from its genesis. A chain that ran an earlier runtime gets
//! the two pallets at the upgrade with no storage at all: FRAME stamps a pallet without storage
//! with its code's storage version before any migration runs (`BeforeAllRuntimeMigrations`), so
//! pallet-contracts starts no migration of its own, but nothing gives the deployer its tokens, and
//! every instantiation fails with `StorageDepositNotEnoughFunds` (`tests/tests/integration/runtime_upgrade.rs`
//! found it so). [`EndowDeployer`] does what genesis does: it mints the endowment, only on a chain
//! whose balances never issued any token, which no genesis of spec 111 or later leaves.

use super::{Deployer, DEPLOYER_ENDOWMENT};
use crate::{Balances, Runtime};
use frame_support::{
    traits::{fungible::Mutate, Defensive, OnRuntimeUpgrade},
    weights::Weight,
};

/// Endows [`Deployer`] as genesis does, on a chain whose pallet-balances never issued a token.
pub struct EndowDeployer;

impl OnRuntimeUpgrade for EndowDeployer {
    fn on_runtime_upgrade() -> Weight {
        let db = <Runtime as frame_system::Config>::DbWeight::get();
        if Balances::total_issuance() != 0 {
            return db.reads(1);
        }
        // Through the fungible interface, as genesis does through pallet-balances': the account,
        // the total issuance and the provider reference that keeps the account alive. It cannot
        // fail (a u64 endowment into an empty u128 issuance); if it ever did, the upgrade must
        // still go on, so it is reported, not raised.
        let _ = Balances::mint_into(&Deployer::get(), DEPLOYER_ENDOWMENT).defensive();
        // The issuance (read, written), the deployer's balance and its system account.
        db.reads_writes(3, 3)
    }
}
