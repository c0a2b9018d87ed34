//! What a run observed, by name: the state's variables, then the observables, in the order of
//! `stats.csv`, `summary.json` and the plots.

use langevin::EnsembleResult;

/// Each state variable's, then each observable's, name and moments per save time: the
/// series of `stats` in `summary.json` and of `stats.csv`, in that order.
pub fn observed_series(r: &EnsembleResult) -> Vec<(&str, Vec<langevin::Moments>)> {
    let state = r
        .state_names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), r.moments.iter().map(|m| m[i]).collect()));
    let observables = r.observables.names.iter().enumerate().map(|(o, n)| {
        (
            n.as_str(),
            r.observables.moments.iter().map(|m| m[o]).collect(),
        )
    });
    state.chain(observables).collect()
}

/// The name of observed value `i`: a state variable, or observable `i - d`.
pub fn observed_name(r: &EnsembleResult, i: usize) -> &str {
    r.state_names
        .iter()
        .chain(&r.observables.names)
        .nth(i)
        .map_or("?", String::as_str)
}
