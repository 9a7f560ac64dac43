//! `contentgate media gc`: files of the media store that no live `_media` object points at.

use std::io::IsTerminal;

use super::{Failure, open, print_json};
use crate::config::GlobalArgs;

/// `contentgate media gc`, with a progress bar on a terminal when there are many files.
pub(super) async fn run_gc(global: &GlobalArgs) -> Result<(), Failure> {
    let (keys, _) = open(global).await?;
    let store = global.media_store().map_err(|err| Failure(err, 2))?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files checked")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let collected = crate::media::gc::collect(&keys.db, &store, |done, total| {
        if let Some(bar) = &bar
            && total >= 1000
        {
            bar.set_length(total);
            bar.set_position(done);
        }
    })
    .await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if global.json {
        print_json(global, &collected);
    } else {
        println!(
            "removed {} files ({} bytes); kept {} originals",
            collected.removed_files, collected.removed_bytes, collected.kept_files
        );
    }
    Ok(())
}
