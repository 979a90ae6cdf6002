//! Generates the conveyor.v1 Rust code with the protoc that `protoc-bin-vendored` ships, so
//! no system protoc is needed.
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let includes = [PathBuf::from("proto"), protoc_bin_vendored::include_path()?];
    let protos = [
        PathBuf::from("proto/conveyor/v1/builds.proto"),
        PathBuf::from("proto/conveyor/v1/workers.proto"),
    ];
    for p in &protos {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    let descriptors = PathBuf::from(std::env::var("OUT_DIR")?).join("conveyor_descriptor.bin");
    tonic_prost_build::configure()
        .file_descriptor_set_path(descriptors)
        .compile_with_config(config, &protos, &includes)?;
    Ok(())
}
