using System.Globalization;
using System.Text;

namespace Ips.Bench;

/// <summary>Renders a <see cref="BenchReport"/> as plain-text tables (the console output of <c>ips bench</c>).</summary>
public static class BenchTables
{
    /// <summary>All parts present in <paramref name="report"/>, one table each, with the targets.</summary>
    public static string Format(BenchReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var text = new StringBuilder();
        var machine = report.Machine;
        text.AppendLine(Invariant($"ips bench {report.Date}: {machine.Device}{(machine.Gpu is null ? "" : " (" + machine.Gpu + ")")}, {machine.Cores} cores ({machine.Cpu}), {machine.TorchThreads} torch threads, {Bytes(machine.MemoryBytes)} RAM, libtorch {machine.Libtorch}{(report.Quick ? ", --quick" : "")}"));
        if (machine.Allocator.Length > 0)
        {
            text.AppendLine(Invariant($"allocator: {machine.Allocator}; OpenMP waiting: {machine.OpenMpWait}"));
        }
        if (machine.LoadAtStart is { } start)
        {
            text.AppendLine(Invariant($"load average (1, 5, 15 min): {start} at the start, {machine.LoadAtEnd ?? "unknown"} at the end, on {machine.Cores} cores"));
        }
        if (report.Memory is { } memory)
        {
            text.AppendLine();
            text.AppendLine(Invariant($"1. Peak memory of one training step ({memory.MemoryKind}); baseline = forward+backward on all N patches, budget {Bytes(memory.BudgetBytes)}"));
            AppendMemory(text, "features: " + memory.FeatureSetup, memory.Features);
            AppendMemory(text, "images: " + memory.ImageSetup, memory.Images);
        }
        if (report.Time is { } time)
        {
            text.AppendLine();
            text.AppendLine(Invariant($"2. Time per training iteration, {time.Setup} (B {time.B}, N {time.N}, M {time.M}, I {time.I}; mean of {time.Iterations})"));
            var share = time.IterationMs > 0 ? time.OutsideMs / time.IterationMs : 0;
            text.Append(Table(
                ["iteration ms", "data ms", "selection ms", "fwd+bwd ms", "optimiser ms", "outside ms (share)", "images/s"],
                [[Ms(time.IterationMs), Ms(time.DataMs), Ms(time.SelectionMs), Ms(time.ForwardBackwardMs), Ms(time.OptimizerMs),
                  Invariant($"{time.OutsideMs:F1} ({share:P1})"), Invariant($"{time.ImagesPerSecond:F2}")]]));
            var speedup = time.SelectionReuseMs > 0 ? time.SelectionNoReuseMs / time.SelectionReuseMs : 0;
            text.Append(Table(
                ["selection of one batch", "without reuse ms", "with reuse ms", "speed-up", "identical selections", "distinct patches"],
                [["identical-patch reuse", Ms(time.SelectionNoReuseMs), Ms(time.SelectionReuseMs), Invariant($"{speedup:F2}x"),
                  time.SelectionsIdentical ? "yes" : "NO", Invariant($"{time.DistinctPatchShare:P1}")]]));
            if (time.SelectionDtype.Count > 0)
            {
                text.Append(Table(
                    ["selection: float32 against bfloat16 encoder", "images", "float32 ms", "bfloat16 ms", "speed-up", "Jaccard mean (min)", "indices not in float32's", "max |Δ probability|"],
                    time.SelectionDtype.Select(row => new[]
                    {
                        row.Case, row.Images.ToString(CultureInfo.InvariantCulture), Ms(row.Float32Ms), Ms(row.Bfloat16Ms),
                        Ratio(row.Float32Ms, row.Bfloat16Ms), Invariant($"{row.MeanJaccard:F3} ({row.MinJaccard:F3})"),
                        Invariant($"{row.DifferingIndices} of {row.Images * row.M}"), Invariant($"{row.MaxProbabilityDifference:G3}"),
                    }).ToList()));
            }
            text.AppendLine(Target("time outside the model's work < 10% of an iteration", share < 0.10, Invariant($"{share:P1}")));
            text.AppendLine(Target("selection with reuse >= 2x faster, identical selections", speedup >= 2 && time.SelectionsIdentical,
                Invariant($"{speedup:F2}x, identical: {(time.SelectionsIdentical ? "yes" : "no")}")));
        }
        if (report.Efficiency is { } efficiency)
        {
            text.AppendLine();
            text.AppendLine(Invariant($"3. Efficiency against the machine (encoder {efficiency.EncoderMflopPerPatch:F1} MFLOP per patch forward; peak = {efficiency.MatmulSize}x{efficiency.MatmulSize} float32 matmul)"));
            double Of(double gflops) => efficiency.MatmulPeakGflops > 0 ? gflops / efficiency.MatmulPeakGflops : 0;
            text.Append(Table(
                ["", "GFLOP/s", "of peak"],
                [
                    ["matmul peak", Invariant($"{efficiency.MatmulPeakGflops:F1}"), "100%"],
                    ["encoder, selection (no reuse)", Invariant($"{efficiency.SelectionGflops:F1}"), Invariant($"{Of(efficiency.SelectionGflops):P0}")],
                    ["encoder, selection (reuse, effective)", Invariant($"{efficiency.SelectionReuseEffectiveGflops:F1}"), Invariant($"{Of(efficiency.SelectionReuseEffectiveGflops):P0}")],
                    ["encoder, forward+backward", Invariant($"{efficiency.TrainingGflops:F1}"), Invariant($"{Of(efficiency.TrainingGflops):P0}")],
                ]));
            text.AppendLine(Invariant($"share of the iteration outside selection, forward+backward and optimiser: {efficiency.OutsideShare:P1}"));
        }
        if (report.VsPytorch is { } vs)
        {
            AppendVsPytorch(text, vs);
        }
        if (report.Slides is { } slides)
        {
            text.AppendLine();
            text.Append(SlidesBench.Format(slides));
        }
        if (report.Demo is { } demo)
        {
            text.AppendLine();
            text.Append(DemoBench.Format(demo));
        }
        if (report.SlideRead is { } slideRead)
        {
            text.AppendLine();
            text.Append(SlideReadBench.Format(slideRead));
        }
        if (report.Encoders is { } encoders)
        {
            text.AppendLine();
            text.Append(EncoderSpeedBench.Format(encoders));
        }
        return text.ToString();
    }

    private static void AppendVsPytorch(StringBuilder text, VsPytorchPart vs)
    {
        text.AppendLine();
        text.AppendLine(Invariant($"4. This implementation against the official PyTorch one (same data, {vs.Threads} threads each; allocator of both: {vs.Allocator}; OpenMP waiting of both: {vs.OpenMpWait})"));
        if (vs.OfficialSkipped is { } skipped)
        {
            text.AppendLine("official column skipped: " + skipped);
        }
        foreach (var row in vs.Rows)
        {
            text.Append(FormatVsPytorchRow(row));
        }
    }

    /// <summary>One case of the vs-pytorch part: its setup, both sides' figures, the ratios and the targets.</summary>
    public static string FormatVsPytorchRow(VsPytorchRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var text = new StringBuilder();
        text.AppendLine(row.Case + ": " + row.Setup);
        var sides = new List<SideFigures> { row.Ours };
        if (row.Official is { } official)
        {
            sides.Add(official);
        }
        var cells = sides.Select(side => new[]
        {
            side.Implementation, Ms(side.IterationMs), Ms(side.SelectionMs), Ms(side.ForwardBackwardMs), Ms(side.OptimizerMs),
            Bytes(side.PeakBytes), Bytes(side.RssBeforeDataBytes), side.Iterations.ToString(CultureInfo.InvariantCulture),
        }).ToList();
        if (row.Official is { } theirs)
        {
            cells.Add(
            [
                "official / ours", Ratio(theirs.IterationMs, row.Ours.IterationMs), Ratio(theirs.SelectionMs, row.Ours.SelectionMs),
                Ratio(theirs.ForwardBackwardMs, row.Ours.ForwardBackwardMs), Ratio(theirs.OptimizerMs, row.Ours.OptimizerMs),
                Ratio(theirs.PeakBytes, row.Ours.PeakBytes), "", "",
            ]);
        }
        text.Append(Table(["implementation", "iteration ms", "selection ms", "fwd+bwd ms", "optimiser ms", "peak RSS", "RSS before data", "iterations"], cells));
        if (row.Official is not { } other)
        {
            if (row.OfficialFailure is { } failure)
            {
                text.AppendLine("official side failed: " + failure);
            }
            return text.ToString();
        }
        if (other.Blas is { } blas)
        {
            text.AppendLine("official BLAS: " + blas + (VsPytorchBench.IsReferenceBlas(blas)
                ? " (the unoptimised reference BLAS: the official times are not comparable; apt-get install libopenblas0-pthread)"
                : ""));
        }
        var speedup = row.Ours.IterationMs > 0 ? other.IterationMs / row.Ours.IterationMs : 0;
        var lighter = row.Ours.PeakBytes <= other.PeakBytes;
        var isMnist = row.Case.StartsWith("Megapixel", StringComparison.Ordinal);
        text.AppendLine(isMnist
            ? Target("iteration >= 2x faster than official at equal or lower peak", speedup >= 2 && lighter, Invariant($"{speedup:F2}x, peak {100.0 * row.Ours.PeakBytes / other.PeakBytes:F0}% of official"))
            : Target("iteration at least as fast as official at lower peak", speedup >= 1 && row.Ours.PeakBytes < other.PeakBytes, Invariant($"{speedup:F2}x, peak {100.0 * row.Ours.PeakBytes / other.PeakBytes:F0}% of official")));
        var forward = other.ForwardBackwardMs > 0 ? row.Ours.ForwardBackwardMs / other.ForwardBackwardMs : 0;
        text.AppendLine(Target("forward+backward within 10% of official", forward <= 1.10, Invariant($"ours {100 * forward:F0}% of official")));
        return text.ToString();
    }

    private static string Ratio(double official, double ours) => ours > 0 ? Invariant($"{official / ours:F2}x") : "n/a";

    private static void AppendMemory(StringBuilder text, string title, List<MemoryRow> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }
        text.AppendLine(title);
        var first = rows[0];
        text.Append(Table(
            ["size", "N", "IPS peak", "vs first", "IPS step", "IPS s", "baseline peak", "baseline step", "baseline s"],
            rows.Select(row => new[]
            {
                row.Label,
                row.N.ToString(CultureInfo.InvariantCulture),
                Bytes(row.IpsPeakBytes),
                Invariant($"{(double)row.IpsPeakBytes / first.IpsPeakBytes:F3}"),
                row.IpsStepBytes is { } step ? Bytes(step) : "n/a",
                Invariant($"{row.IpsSeconds:F2}"),
                row.BaselinePeakBytes is { } peak ? Bytes(peak) : row.BaselineStatus,
                row.BaselineStepBytes is { } baseStep ? Bytes(baseStep) : "",
                row.BaselineSeconds is { } seconds ? Invariant($"{seconds:F2}") : "",
            }).ToList()));
        if (rows.Count > 1)
        {
            var ratio = (double)rows[^1].IpsPeakBytes / first.IpsPeakBytes;
            text.AppendLine(Target(Invariant($"IPS peak at {rows[^1].Label} within 10% of {first.Label}"), ratio <= 1.10, Invariant($"ratio {ratio:F3}")));
        }
    }

    /// <summary>A fixed-width table: a header, a rule, and the rows, columns padded to their widest cell.</summary>
    internal static string Table(IReadOnlyList<string> header, IReadOnlyList<string[]> rows)
    {
        var widths = header.Select((cell, column) => Math.Max(cell.Length, rows.Count == 0 ? 0 : rows.Max(row => row[column].Length))).ToArray();
        var text = new StringBuilder();
        void Line(IReadOnlyList<string> cells) =>
            text.AppendLine(("  " + string.Join("  ", cells.Select((cell, column) => cell.PadRight(widths[column])))).TrimEnd());
        Line(header);
        Line(widths.Select(width => new string('-', width)).ToArray());
        foreach (var row in rows)
        {
            Line(row);
        }
        return text.ToString();
    }

    /// <summary>Bytes in MiB (or GiB from 10 GiB up), one decimal.</summary>
    internal static string Bytes(long bytes) => bytes >= 10L << 30
        ? Invariant($"{bytes / (double)(1L << 30):F1} GiB")
        : Invariant($"{bytes / (double)(1L << 20):F1} MiB");

    private static string Ms(double ms) => Invariant($"{ms:F1}");

    private static string Target(string what, bool met, string figure) => Invariant($"target: {what}: {(met ? "met" : "MISSED")} ({figure})");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
