//! `cargo xtask codegen`: every `schemas/*.json` becomes a module of the
//! `gladly-schema` crate, in `crates/gladly-schema/src/generated/`.
//!
//! Each schema is read into schemars' types, handed to typify, and the
//! tokens are parsed into a `syn::File` and printed by prettyplease, under an
//! `@generated` header that names the schema and its SHA-256. The output is
//! a pure function of the schemas and this code, so `--check` can regenerate
//! in memory and compare byte for byte.

mod finish;
mod module;
mod naming;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

pub use module::{generate_module, header, normalize_line_endings, sha256_hex};
pub use naming::{Naming, module_name, naming_for};

/// Where the schemas are read and the modules written.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The folder of `*.json` schemas (`schemas/`).
    pub schemas_dir: PathBuf,
    /// The folder of generated modules (`crates/gladly-schema/src/generated/`).
    pub generated_dir: PathBuf,
}

impl Layout {
    /// The layout of the workspace whose root is `root`.
    pub fn of_workspace(root: &Path) -> Self {
        Self {
            schemas_dir: root.join("schemas"),
            generated_dir: root.join("crates/gladly-schema/src/generated"),
        }
    }
}

/// A file the generator produces: its name in the generated folder, and its
/// whole text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// The file's name, such as `webhook.rs` or `mod.rs`.
    pub name: String,
    /// The file's text.
    pub contents: String,
}

/// Generates every file of the generated folder, in memory. Fails, naming
/// the schema file and the reason, if any schema cannot be generated.
pub fn generate_all(layout: &Layout) -> Result<Vec<GeneratedFile>> {
    let mut schemas = Vec::new();
    let entries = fs::read_dir(&layout.schemas_dir)
        .with_context(|| format!("cannot read {}", layout.schemas_dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "json") {
            schemas.push(path);
        }
    }
    schemas.sort();
    if schemas.is_empty() {
        bail!("no *.json schema in {}", layout.schemas_dir.display());
    }

    let mut files = Vec::new();
    let mut modules = Vec::new();
    for path in &schemas {
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{} is not a UTF-8 file name", path.display()))?;
        let source = format!("schemas/{file_name}");
        let text = fs::read_to_string(path).with_context(|| format!("cannot read {source}"))?;
        let naming = naming_for(file_name);
        let contents = generate_module(&source, &text, &naming)
            .with_context(|| format!("cannot generate code from {source}"))?;
        if modules.iter().any(|(module, _)| *module == naming.module) {
            bail!(
                "{source}: another schema already generates the module `{}`",
                naming.module
            );
        }
        files.push(GeneratedFile {
            name: format!("{}.rs", naming.module),
            contents,
        });
        modules.push((naming.module, source));
    }
    files.push(GeneratedFile {
        name: "mod.rs".to_string(),
        contents: mod_rs(&modules),
    });
    Ok(files)
}

/// The generated folder's `mod.rs`: one `pub mod` per schema.
fn mod_rs(modules: &[(String, String)]) -> String {
    // Each module's own header carries its schema's SHA-256.
    let mut text = header("the list of schemas in schemas/");
    text.push_str("//! The generated modules, one per schema in `schemas/`.\n");
    for (module, source) in modules {
        let _ = write!(
            text,
            "\n/// Types generated from `{source}`.\npub mod {module};\n"
        );
    }
    text
}

/// Regenerates the folder, writing only the files whose text changed and
/// removing `.rs` files no schema produces. Writes nothing if any schema
/// fails. Returns the paths written or removed.
pub fn write(layout: &Layout) -> Result<Vec<PathBuf>> {
    let files = generate_all(layout)?;
    fs::create_dir_all(&layout.generated_dir)
        .with_context(|| format!("cannot create {}", layout.generated_dir.display()))?;
    let mut touched = Vec::new();
    for file in &files {
        let path = layout.generated_dir.join(&file.name);
        if fs::read_to_string(&path).ok().as_deref() != Some(file.contents.as_str()) {
            fs::write(&path, &file.contents)
                .with_context(|| format!("cannot write {}", path.display()))?;
            touched.push(path);
        }
    }
    for orphan in orphans(layout, &files)? {
        fs::remove_file(&orphan).with_context(|| format!("cannot remove {}", orphan.display()))?;
        touched.push(orphan);
    }
    Ok(touched)
}

/// Regenerates in memory and fails, naming every stale, missing or orphaned
/// file, unless the folder already holds exactly what [`write()`] would write.
pub fn check(layout: &Layout) -> Result<()> {
    let files = generate_all(layout)?;
    let mut problems = Vec::new();
    for file in &files {
        let path = layout.generated_dir.join(&file.name);
        match fs::read_to_string(&path) {
            // A checkout that turned LF into CRLF is not stale.
            Ok(on_disk) if normalize_line_endings(&on_disk) == file.contents => {}
            Ok(_) => problems.push(format!(
                "{}: stale (differs from what the schemas generate)",
                path.display()
            )),
            Err(_) => problems.push(format!("{}: missing", path.display())),
        }
    }
    for orphan in orphans(layout, &files)? {
        problems.push(format!("{}: generated from no schema", orphan.display()));
    }
    if !problems.is_empty() {
        bail!(
            "generated code is out of date:\n  {}\nrun `cargo xtask codegen`, review the diff, and commit it",
            problems.join("\n  ")
        );
    }
    Ok(())
}

/// `.rs` files in the generated folder that no schema produces.
fn orphans(layout: &Layout, files: &[GeneratedFile]) -> Result<Vec<PathBuf>> {
    let expected: BTreeSet<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let Ok(entries) = fs::read_dir(&layout.generated_dir) else {
        return Ok(Vec::new());
    };
    let mut orphans = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.extension().is_some_and(|ext| ext == "rs") && !expected.contains(name) {
            orphans.push(path);
        }
    }
    orphans.sort();
    Ok(orphans)
}
