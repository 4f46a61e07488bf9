//! `kz validate` on real extensions of the corpus.

use crate::harness::{corpus, Ws};

#[test]
fn the_corpus_validates_without_crashing_and_clean_extensions_pass() {
    let ws = Ws::new();
    ws.copy_extensions(&corpus().join("kamiwaza/kamiwaza-drew__tool-git"));
    ws.kz(&["validate", "--strict"]).code(0);
    let ws = Ws::new();
    ws.copy_extensions(&corpus().join("kamiwaza/kamiwaza-internal__kz-demo-provisioning"));
    ws.kz(&["validate"])
        .code(1)
        .stdout_has("metadata/required-field")
        .stdout_has("compose/bind-mount");
}
