//! Folded cases kept in memory by version, bounded: a page asks for the
//! cases of its rows at the version the read model names, and folds again
//! only what changed or was never kept. The log stays the truth: an entry
//! is used only while its version equals the one asked for. When full, an
//! arbitrary entry makes room, so memory stays bounded whatever the
//! archive's size.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use embargo_core::{Case, CaseId};
use embargo_store::StoreError;

use crate::AppState;

/// At most this many folded cases are kept.
const CAPACITY: usize = 2048;

/// The cache.
#[derive(Default)]
pub struct Cases(Mutex<HashMap<String, (u64, Arc<Case>)>>);

impl Cases {
    fn get(&self, id: &str, version: u64) -> Option<Arc<Case>> {
        self.0.lock().ok().and_then(|m| {
            m.get(id)
                .filter(|(v, _)| *v == version)
                .map(|(_, c)| c.clone())
        })
    }

    fn put(&self, case: &Arc<Case>) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() >= CAPACITY
                && !m.contains_key(case.id.as_str())
                && let Some(victim) = m.keys().next().cloned()
            {
                m.remove(&victim);
            }
            m.insert(case.id.to_string(), (case.version, case.clone()));
        }
    }
}

/// One case at `version` (as the read model names it), folded once.
pub async fn case(state: &AppState, id: &CaseId, version: u64) -> Result<Arc<Case>, StoreError> {
    cases(state, &[(id.clone(), version)])
        .await?
        .pop()
        .ok_or_else(|| StoreError::NoSuchCase(id.clone()))
}

/// The cases of `wanted` (ids at the versions the read model names), in
/// that order: the ones not kept at that version are read in one go.
pub async fn cases(
    state: &AppState,
    wanted: &[(CaseId, u64)],
) -> Result<Vec<Arc<Case>>, StoreError> {
    let mut out: Vec<Option<Arc<Case>>> = wanted
        .iter()
        .map(|(id, v)| state.cases.get(id.as_str(), *v))
        .collect();
    let missing: Vec<CaseId> = wanted
        .iter()
        .zip(&out)
        .filter(|(_, kept)| kept.is_none())
        .map(|((id, _), _)| id.clone())
        .collect();
    if !missing.is_empty() {
        let read: HashMap<String, Arc<Case>> = state
            .store
            .cases(&missing)
            .await?
            .into_iter()
            .map(|c| {
                let c = Arc::new(c);
                state.cases.put(&c);
                (c.id.to_string(), c)
            })
            .collect();
        for ((id, _), slot) in wanted.iter().zip(out.iter_mut()) {
            if slot.is_none() {
                *slot = Some(
                    read.get(id.as_str())
                        .cloned()
                        .ok_or_else(|| StoreError::NoSuchCase(id.clone()))?,
                );
            }
        }
    }
    Ok(out.into_iter().flatten().collect())
}
