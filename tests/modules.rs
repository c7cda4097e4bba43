//! The module registry: linking the root links every module crate, and each registers once.

use calendula_core::ModuleDescriptor;

#[test]
fn registered_modules_are_exactly_auth_and_notificator() {
    // Referencing the root crate links it, and with it the module crates it names.
    let _ = calendula::config::schema;
    let keys: Vec<&str> = ModuleDescriptor::all().iter().map(|m| m.key).collect();
    assert_eq!(keys, ["auth", "notificator"]);
}
