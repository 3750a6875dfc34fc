"""The imperative shell: real processes, real time, one private event loop thread."""
