//! `embed_migrations!` reads `migrations/` at compile time; without this, adding a new
//! migration directory would not rebuild the crate.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
