//! `contentgate media gc` (files of the media store that no live `_media` object points
//! at), and `import` / `export` of `.flotiq` folders, which carry media.

use std::io::IsTerminal;

use super::{Failure, account_id, open, print_json};
use crate::config::GlobalArgs;

/// `contentgate media gc`, with a progress bar on a terminal when there are many files.
pub(super) async fn run_gc(global: &GlobalArgs) -> Result<(), Failure> {
    let (keys, _) = open(global).await?;
    let store = global.media_store().map_err(|err| Failure(err, 2))?;
    let bar = progress_bar("files checked");
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

fn progress_bar(what: &str) -> Option<indicatif::ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        let template = format!("{{bar:40}} {{pos}}/{{len}} {what}");
        bar.set_style(
            indicatif::ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    })
}

/// `contentgate import DIR`, with a progress bar over the objects on a terminal.
pub(super) async fn run_import(global: &GlobalArgs, dir: &std::path::Path) -> Result<(), Failure> {
    let (keys, _) = open(global).await?;
    let account = account_id(&keys, global).await?;
    let store = global.media_store().map_err(|err| Failure(err, 2))?;
    crate::content::internal::ensure(&keys.db, &account).await?;
    let bar = progress_bar("objects");
    let report = crate::transfer::import(&keys.db, &store, &account, dir, |done, total| {
        if let Some(bar) = &bar {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    })
    .await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if global.json {
        print_json(global, &report);
    } else {
        println!(
            "types: {} created, {} updated, {} unchanged; objects written: {}; media: {} created, {} updated",
            report.types_created,
            report.types_updated,
            report.types_unchanged,
            report.objects_written,
            report.media_created,
            report.media_updated
        );
        for failure in &report.failures {
            eprintln!("refused: {failure}");
        }
    }
    if report.failures.is_empty() {
        Ok(())
    } else {
        Err(Failure(
            format!("{} objects were refused", report.failures.len()),
            1,
        ))
    }
}

/// `contentgate export DIR`.
pub(super) async fn run_export(global: &GlobalArgs, dir: &std::path::Path) -> Result<(), Failure> {
    let (keys, _) = open(global).await?;
    let account = account_id(&keys, global).await?;
    let store = global.media_store().map_err(|err| Failure(err, 2))?;
    let exported = crate::transfer::export(&keys.db, &store, &account, dir).await?;
    if global.json {
        print_json(global, &exported);
    } else {
        println!(
            "exported {} types, {} objects, {} media files to {}",
            exported.types,
            exported.objects,
            exported.media_files,
            dir.display()
        );
    }
    Ok(())
}
