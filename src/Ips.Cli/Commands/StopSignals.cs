using System.Runtime.InteropServices;
using Spectre.Console;

namespace Ips.Cli.Commands;

/// <summary>
/// Turns SIGINT (Ctrl-C) and SIGTERM (what Slurm, <c>docker stop</c>, systemd and Kubernetes send) into a request to
/// stop at the next step boundary, after which the caller saves and exits with <see cref="ExitCode"/>. The runtime's
/// default, ending the process at once, is suppressed for every signal while this object lives: a second signal
/// only says that the save is under way, so a checkpoint is never cut short.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly PosixSignalRegistration[] _registrations;
    private readonly string _saving;
    private int _received;

    /// <summary>Starts listening; <paramref name="outer"/> also requests the stop.</summary>
    /// <param name="outer">A token that also stops the run.</param>
    /// <param name="saving">What the stop saves, for the messages (e.g. <c>last.ckpt</c>).</param>
    public StopSignals(CancellationToken outer, string saving)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _saving = saving;
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
    }

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
            AnsiConsole.MarkupLine($"[yellow]{Name(context.Signal)}: stopping after the current step; saving {Markup.Escape(_saving)}...[/]");
            _stop.Cancel();
        }
        else
        {
            AnsiConsole.MarkupLine($"[yellow]{Name(context.Signal)}: already stopping; waiting for {Markup.Escape(_saving)} to be saved (kill -9 would lose the work since the previous checkpoint)[/]");
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
