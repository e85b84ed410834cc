using Ips.Fuzz;
using SharpFuzz;

// Ips.Fuzz TARGET          run under afl-fuzz (fuzz/run): each input arrives on standard input; a broken property
//                          escapes as an exception, which SharpFuzz reports to AFL++ as a crash.
// Ips.Fuzz TARGET FILE...  replay files (a crash found, a queue): one line per file (outcome, file, time, refusal),
//                          exit 1 when any breaks the property.
// Ips.Fuzz --write-seeds DIR CONFIGS   the seeds ips's own writers make (fuzz/make-seeds).
// Ips.Fuzz --replay fuzz/expected.tsv  every committed input against its recorded outcome; exit 1 on a difference.
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine("usage: Ips.Fuzz TARGET [FILE...] | Ips.Fuzz --write-seeds DIR CONFIGS | Ips.Fuzz --replay EXPECTED_TSV");
    Console.WriteLine("targets: " + string.Join(", ", FuzzTargets.All.Select(t => t.Name)));
    return args.Length == 0 ? 64 : 0;
}

if (args is ["--write-seeds", var seeds, var configs])
{
    SeedWriter.WriteAll(seeds, configs);
    return 0;
}

if (args is ["--replay", var expected])
{
    return ExpectedOutcomes.Replay(expected, Console.Out);
}

FuzzTarget target;
try
{
    target = FuzzTargets.Named(args[0]);
}
catch (ArgumentException error)
{
    Console.Error.WriteLine("error: " + error.Message);
    return 64;
}

if (args.Length == 1)
{
    // Load libtorch before AFL++ starts timing: SharpFuzz runs its first input inside the first timed execution,
    // and loading libtorch alone can take longer than the 2 s limit. (Nothing of the instrumented Ips.dll may run
    // before Fuzzer.Run: its coverage map is not attached yet.)
    TorchSharp.torch.zeros(1).Dispose();
    Fuzzer.Run(stream =>
    {
        using var input = new MemoryStream();
        stream.CopyTo(input);
        ReaderProperty.Check(target, input.GetBuffer().AsSpan(0, (int)input.Length));
    });
    return 0;
}

var broken = 0;
foreach (var file in args.Skip(1))
{
    try
    {
        string reason = "";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var outcome = ReaderProperty.Check(target, File.ReadAllBytes(file), message => reason = $"\t{message}");
        Console.WriteLine($"{outcome.ToString().ToLowerInvariant()}\t{file}\t{clock.ElapsedMilliseconds} ms{reason}");
    }
    catch (Exception error) when (error is ReaderPropertyException or OutOfMemoryException)
    {
        broken++;
        Console.WriteLine($"BROKEN\t{file}\t{error.Message}");
        Console.Error.WriteLine(error.InnerException ?? error);
    }
}
return broken == 0 ? 0 : 1;
