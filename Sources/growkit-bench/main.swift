// growkit-bench: performance figures against baselines measured in the same run.
print("growkit-bench: no benchmarks yet")
