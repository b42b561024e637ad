//! No type under `src/` that can be printed with `{:?}` holds a password, a hash, a token or a
//! secret as plain text: a field so named in a type deriving `Debug` must have a type of its own
//! (`Password`, `Secret`, `SecretText`, `RevealedSecret`, each printing a placeholder). One `?`
//! in a log line would otherwise print it. Read from the sources with `syn`, as
//! `tests/architecture.rs` reads the imports.

use std::path::Path;

use syn::visit::Visit;

#[path = "support/source_files.rs"]
mod source_files;
use source_files::collect_rs_files;

/// Field names that hold what must never be printed.
fn is_sensitive(field: &str) -> bool {
    ["password", "hash", "token", "secret"]
        .iter()
        .any(|word| field.split('_').any(|part| part == *word))
}

/// Plain text: the field's type names `String` or `str` (inside `Option`, `&`, `Cow`...).
fn is_plain_text(ty: &syn::Type) -> bool {
    syn_to_string(ty)
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .any(|word| word == "String" || word == "str")
}

fn syn_to_string(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(path) => path
            .path
            .segments
            .iter()
            .map(|segment| {
                let inner = match &segment.arguments {
                    syn::PathArguments::AngleBracketed(args) => args
                        .args
                        .iter()
                        .filter_map(|arg| match arg {
                            syn::GenericArgument::Type(ty) => Some(syn_to_string(ty)),
                            _ => None,
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                    _ => String::new(),
                };
                format!("{}<{inner}>", segment.ident)
            })
            .collect::<Vec<_>>()
            .join("::"),
        syn::Type::Reference(reference) => format!("&{}", syn_to_string(&reference.elem)),
        syn::Type::Tuple(tuple) => tuple
            .elems
            .iter()
            .map(syn_to_string)
            .collect::<Vec<_>>()
            .join(","),
        _ => String::new(),
    }
}

fn derives_debug(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        let mut found = false;
        if attr.path().is_ident("derive") {
            let _ = attr.parse_nested_meta(|meta| {
                found |= meta.path.is_ident("Debug");
                Ok(())
            });
        }
        found
    })
}

struct Finder<'a> {
    file: &'a str,
    found: Vec<String>,
}

impl Finder<'_> {
    fn check(&mut self, owner: &syn::Ident, fields: &syn::Fields) {
        for (index, field) in fields.iter().enumerate() {
            let name = field
                .ident
                .as_ref()
                .map_or_else(|| index.to_string(), ToString::to_string);
            if is_sensitive(&name) && is_plain_text(&field.ty) {
                self.found.push(format!("{}: {owner}.{name}", self.file));
            }
        }
    }
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_item_struct(&mut self, item: &'ast syn::ItemStruct) {
        if derives_debug(&item.attrs) {
            self.check(&item.ident, &item.fields);
        }
        syn::visit::visit_item_struct(self, item);
    }

    fn visit_item_enum(&mut self, item: &'ast syn::ItemEnum) {
        if derives_debug(&item.attrs) {
            for variant in &item.variants {
                let name = variant.ident.to_string().to_lowercase();
                let holds_text = variant.fields.iter().any(|f| is_plain_text(&f.ty));
                if holds_text
                    && ["password", "token", "secret", "hash", "generated"]
                        .iter()
                        .any(|word| name.contains(word))
                {
                    self.found
                        .push(format!("{}: {}::{}", self.file, item.ident, variant.ident));
                }
                self.check(&item.ident, &variant.fields);
            }
        }
        syn::visit::visit_item_enum(self, item);
    }
}

fn printable_plain_secrets(source: &str, file: &str) -> Vec<String> {
    let parsed = syn::parse_file(source).unwrap_or_else(|e| panic!("{file} parses: {e}"));
    let mut finder = Finder {
        file,
        found: Vec::new(),
    };
    finder.visit_file(&parsed);
    finder.found
}

#[test]
fn no_printable_type_holds_a_password_hash_token_or_secret_as_text() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect_rs_files(&root, &mut files);
    let mut found = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).expect("readable source");
        let relative = file
            .strip_prefix(&root)
            .expect("under src/")
            .display()
            .to_string();
        found.extend(printable_plain_secrets(&source, &relative));
    }
    assert!(
        found.is_empty(),
        "types deriving Debug over plain text: {found:#?}"
    );
}

/// The check itself finds what it is for, and lets a wrapper type pass.
#[test]
fn the_check_finds_a_plain_password_and_passes_a_wrapped_one() {
    let source = r#"
        #[derive(Debug, Clone)]
        pub struct Plain { pub username: String, pub password: Option<String> }
        #[derive(Clone, Debug)]
        pub struct Row<'a> { pub password_hash: &'a str }
        #[derive(Debug)]
        pub enum Chosen { Given, Generated(String) }
        #[derive(Debug)]
        pub struct Wrapped { pub password: Password, pub token_ttl_secs: u64 }
        #[derive(Clone)]
        pub struct Unprintable { pub password: String }
    "#;
    assert_eq!(
        printable_plain_secrets(source, "x.rs"),
        [
            "x.rs: Plain.password",
            "x.rs: Row.password_hash",
            "x.rs: Chosen::Generated"
        ]
    );
}
