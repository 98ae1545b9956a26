//! `reference/steps.md`: the steps of the pipeline, from the one table of
//! steps (`Step::ALL`).

use super::{cell, check_generated, header};
use clap::ValueEnum;
use gantry::step::Step;

fn page() -> String {
    let mut out = header("`Step::ALL` in src/step.rs");
    out.push_str("# Steps\n\n");
    out.push_str(
        "The steps of the pipeline, in the order `gantry run` runs them. The name is \
         what `[pipeline] steps` and `gantry run STEP…` take, what the pipeline state \
         records and what output names start with.\n\n",
    );
    out.push_str("| step | command | what it does | changes remote systems | verdict output |\n");
    out.push_str("| --- | --- | --- | --- | --- |\n");
    for step in Step::ALL {
        // The doc comment of the variant, as clap shows it for `gantry run STEP`.
        let help = step
            .to_possible_value()
            .and_then(|v| v.get_help().map(ToString::to_string))
            .unwrap_or_default();
        let remote = if step.changes_remote() {
            "yes: planned first, and only planned in a dry run"
        } else {
            "no: local work, run for real in a dry run too"
        };
        out.push_str(&format!(
            "| `{}` | [`gantry {}`](../commands/{}.md) | {} | {remote} | `{}` |\n",
            step.as_str(),
            step.command(),
            step.as_str(),
            cell(&help),
            step.verdict_output(),
        ));
    }
    out
}

#[test]
fn the_steps_reference_is_the_table_of_steps() {
    check_generated("steps.md", &page());
}
