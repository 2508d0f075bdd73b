import nodeAssert from "node:assert/strict";
import { formatMetric, formatMetricsBlock } from "../lib/train/format.ts";
import { SpeedMonitor } from "../lib/train/speed_monitor.ts";

Deno.test("metric formatting follows OLMo's thresholds", () => {
  // Values computed with Python's f-strings / str().
  nodeAssert.equal(formatMetric(5e-5), "5e-05");
  nodeAssert.equal(formatMetric(0.5), "0.5000");
  nodeAssert.equal(formatMetric(3.14159), "3.142");
  nodeAssert.equal(formatMetric(42.123), "42.12");
  nodeAssert.equal(formatMetric(512.26), "512.3");
  nodeAssert.equal(formatMetric(1234567.8), "1,234,567");
  nodeAssert.equal(formatMetric(0), "0.0");
});

Deno.test("console block excludes optim metrics", () => {
  const block = formatMetricsBlock("[step=3/10]", {
    "train/CrossEntropyLoss": 5.5,
    "optim/total_grad_norm": 1,
  });
  nodeAssert.equal(block, "[step=3/10]\n    train/CrossEntropyLoss=5.500");
});

Deno.test("speed monitor skips the first batch, windows and resets", () => {
  const m = new SpeedMonitor(2);
  m.batchStart(100, 100, 0); // first batch: not recorded
  nodeAssert.equal(m.metrics(500)["throughput/device/tokens_per_second"], undefined);
  m.batchStart(200, 100, 1000);
  m.batchStart(300, 100, 2000);
  m.batchStart(400, 100, 3000); // window keeps the last two starts: 2000, 3000
  const r = m.metrics(4000);
  nodeAssert.equal(r["throughput/device/tokens_per_second"], 200 / 2);
  nodeAssert.equal(r["throughput/device/batches_per_second"], 1);
  nodeAssert.equal(r["throughput/total_tokens"], 400);
  m.reset();
  nodeAssert.equal(m.metrics(5000)["throughput/device/tokens_per_second"], undefined);
});

Deno.test("small and negative values print like Python's str()", () => {
  nodeAssert.equal(formatMetric(-0.25), "-0.25");
  nodeAssert.equal(formatMetric(1.5e-7), "1.5e-07");
  nodeAssert.equal(formatMetric(-3), "-3.0");
});

Deno.test("ties round to even, non-finite values and big integers print as Python's", () => {
  // Expected strings from Python 3 (OLMo's format_float) on the same doubles.
  const python: [number, string][] = [
    [0.125, "0.1250"],
    [2.5625, "2.562"], // exact tie: Python rounds half to even, JS toFixed would give 2.563
    [0.375 + 2, "2.375"],
    [10.125, "10.12"],
    [10.375, "10.38"],
    [100.25, "100.2"],
    [0.00015, "0.0001"],
    [1.0005, "1.000"],
    [NaN, "nan"],
    [-Infinity, "-inf"],
    [-0, "-0.0"],
    [1e20, "100,000,000,000,000,000,000"],
    [2 ** 70, "1,180,591,620,717,411,303,424"],
  ];
  for (const [v, want] of python) nodeAssert.equal(formatMetric(v), want, String(v));
});

Deno.test("an evaluation block is headed by the bare label, as OLMo's", () => {
  nodeAssert.equal(
    formatMetricsBlock("held-out", { "eval/held-out/CrossEntropyLoss": 2.5 }),
    "held-out\n    eval/held-out/CrossEntropyLoss=2.500",
  );
});
