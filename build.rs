// `sqlx::migrate!` embeds the migrations at compile time; without this, a migration added to
// the folder is missed by incremental builds until some engine source changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
