//! Builds the small C helper for INCRBYFLOAT's `long double` arithmetic (csrc/longdouble.c).
fn main() {
    println!("cargo:rerun-if-changed=csrc/longdouble.c");
    cc::Build::new().file("csrc/longdouble.c").warnings(true).compile("stashd_longdouble");
}
