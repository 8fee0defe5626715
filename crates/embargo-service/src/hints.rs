//! Duplicate hints, worked out when a case's title words or affected
//! packages change, never when a case is opened. The writer names such a
//! case in `hints_due` in the transaction of the change; [`pass`] (the
//! scheduler's tick, and the tests' pump) compares it with the open cases
//! that share a term with it (the term index; a term most cases share is
//! not looked up) and stores the closest pairs both ways. The case page
//! reads the stored pairs of the one case it shows, and checks each again
//! against what the caller may see and what the other case is now.

use embargo_core::duplicates;
use embargo_store::StoreError;

use crate::AppState;

/// How many cases sharing a term one case is compared with at most.
pub const CANDIDATES: u32 = 50;

/// A title word or package more open cases than this share is no evidence
/// of a duplicate, and is not looked up.
pub const TERM_MOST: i64 = 1_000;

/// How many hints a case keeps of its own (pairs others found add to it).
pub const KEPT: u32 = 10;

/// How many cases one pass works out at most (the rest wait for the next).
pub const PER_PASS: u32 = 100;

/// Works out the hints of the cases due, at most [`PER_PASS`]; how many.
pub async fn pass(state: &AppState) -> Result<usize, StoreError> {
    let due = state.store.hints_due(PER_PASS).await?;
    let ids: Vec<_> = due.iter().map(|(id, _)| id.clone()).collect();
    let mut read: std::collections::HashMap<_, _> = state
        .store
        .cases(&ids)
        .await?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    for (id, version) in &due {
        let Some(case) = read.remove(id) else {
            // Nothing to compare: its request is done.
            state.store.set_hints(id, *version, &[]).await?;
            continue;
        };
        // A closed or rejected case is no one's duplicate, nor has any.
        let mut hints = Vec::new();
        if !duplicates::terms(&case).is_empty() {
            let similar = state
                .store
                .similar_cases(&duplicates::lookup_terms(&case), id, TERM_MOST, CANDIDATES)
                .await?;
            let others = crate::cache::cases(state, &similar).await?;
            hints = duplicates::candidates(&case, others.iter().map(AsRef::as_ref))
                .into_iter()
                .take(KEPT as usize)
                .map(|(other, why)| (other, why.rank()))
                .collect();
        }
        state.store.set_hints(id, *version, &hints).await?;
    }
    Ok(due.len())
}
