//! Unit tests for yaml.rs; expected values are the reference renderer's output.
