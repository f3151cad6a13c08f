"""SynapseAI benchmarks (not part of the test suite).  See bench/README.md."""
