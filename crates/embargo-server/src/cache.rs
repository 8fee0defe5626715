//! Folded cases kept in memory by version, so that the scheduler, the
//! metrics, the dashboard and the compliance report read the projection
//! (one small query) and fold again only the cases that changed since.
//! The log stays the truth: an entry is used only while its version equals
//! the projection's.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use embargo_core::{Case, CaseId};
use embargo_store::StoreError;

use crate::AppState;

/// The cache.
#[derive(Default)]
pub(crate) struct Cases(Mutex<HashMap<String, (u64, Arc<Case>)>>);

/// Every case, current as of the projection.
pub(crate) async fn all(state: &AppState) -> Result<Vec<Arc<Case>>, StoreError> {
    let rows = state.store.projection().await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let (Some(id), Some(version)) = (row.first(), row.get(8)) else {
            continue;
        };
        let version: u64 = version.parse().unwrap_or(u64::MAX);
        let cached = state.cases.0.lock().ok().and_then(|m| {
            m.get(id)
                .filter(|(v, _)| *v == version)
                .map(|(_, c)| c.clone())
        });
        let case = match cached {
            Some(c) => c,
            None => {
                let Ok(case_id) = CaseId::new(id.as_str()) else {
                    continue;
                };
                let case = Arc::new(state.store.case(&case_id).await?);
                if let Ok(mut m) = state.cases.0.lock() {
                    m.insert(id.clone(), (case.version, case.clone()));
                }
                case
            }
        };
        out.push(case);
    }
    Ok(out)
}
