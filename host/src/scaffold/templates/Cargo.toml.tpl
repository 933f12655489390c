[package]
name = "{{crate}}"
version = "0.1.0"
edition = "2024"

# A weir connector is a WebAssembly component: a cdylib built for
# wasm32-wasip2.
[lib]
crate-type = ["cdylib"]

[dependencies]
{{sdk}}

[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
# Keep function names, so a trap's backtrace says where it happened.
strip = "debuginfo"

# A crate of its own, even when created inside another workspace.
[workspace]
