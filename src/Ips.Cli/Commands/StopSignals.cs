using System.Runtime.InteropServices;
using Spectre.Console;

namespace Ips.Cli.Commands;

/// <summary>
/// Turns SIGINT (Ctrl-C) and SIGTERM (what Slurm, <c>docker stop</c>, systemd and Kubernetes send) into a request to
/// stop at the next safe point, after which the caller finishes what it must (saves a checkpoint, removes the
/// unfinished slide's temporary file), says what was done and exits with <see cref="ExitCode"/>. The runtime's
/// default, ending the process at once, is suppressed for every signal while this object lives: a second signal only
/// says that the stop is under way, so a checkpoint is never cut short and no half-written file is left behind.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly PosixSignalRegistration[] _registrations;
    private readonly string _stopping;
    private readonly string _alreadyStopping;
    private int _received;

    private StopSignals(CancellationToken outer, string stopping, string alreadyStopping)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(outer);
        (_stopping, _alreadyStopping) = (stopping, alreadyStopping);
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
    }

    /// <summary>Starts listening for a run that saves <paramref name="checkpoint"/> when stopped (train, pretrain).</summary>
    /// <param name="outer">A token that also stops the run.</param>
    /// <param name="checkpoint">The file the stop saves, for the messages (e.g. <c>last.ckpt</c>).</param>
    public static StopSignals SavingCheckpoint(CancellationToken outer, string checkpoint) => new(
        outer,
        $"stopping after the current step; saving {checkpoint}...",
        $"already stopping; waiting for {checkpoint} to be saved (kill -9 would lose the work since the previous checkpoint)");

    /// <summary>
    /// Starts listening for a run over slides that keeps finished slides and drops the one in progress, leaving no
    /// file of it (slides tile, slides features): a rerun redoes that slide.
    /// </summary>
    /// <param name="outer">A token that also stops the run.</param>
    public static StopSignals DroppingUnfinishedSlide(CancellationToken outer) => new(
        outer,
        "stopping; finished slides are kept, the slide in progress is dropped and redone by the next run...",
        "already stopping; waiting for the slide in progress to be cleaned up");

    /// <summary>Starts listening for a server that finishes the requests under way and exits (ips view).</summary>
    /// <param name="outer">A token that also stops the server.</param>
    public static StopSignals StoppingServer(CancellationToken outer) => new(
        outer,
        "stopping the viewer; finishing the requests under way...",
        "already stopping; waiting for the requests under way");

    /// <summary>Fires at the first signal.</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>The first signal received, if any.</summary>
    public PosixSignal? Signal { get; private set; }

    /// <summary>The conventional exit code of a process stopped by <see cref="Signal"/>: 128 + its number (130 for SIGINT, 143 for SIGTERM).</summary>
    public int ExitCode => Signal == PosixSignal.SIGTERM ? 143 : 130;

    private void Handle(PosixSignalContext context)
    {
        context.Cancel = true;
        if (Interlocked.Increment(ref _received) == 1)
        {
            Signal = context.Signal;
            AnsiConsole.MarkupLine($"[yellow]{Name(context.Signal)}: {Markup.Escape(_stopping)}[/]");
            _stop.Cancel();
        }
        else
        {
            AnsiConsole.MarkupLine($"[yellow]{Name(context.Signal)}: {Markup.Escape(_alreadyStopping)}[/]");
        }
    }

    private static string Name(PosixSignal signal) => signal == PosixSignal.SIGTERM ? "SIGTERM" : "SIGINT";

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
        _stop.Dispose();
    }
}
