using Spectre.Console.Cli;

namespace Ips.Cli.Hosting;

/// <summary>
/// Refuses arguments after <c>--</c>, the one thing strict parsing (<c>UseStrictParsing</c>, which refuses unknown
/// options and arguments) still hands to a command in <see cref="CommandContext.Remaining"/>: no <c>ips</c> command
/// takes pass-through arguments, so they are a mistake rather than something to ignore.
/// </summary>
internal sealed class StrictOptions : ICommandInterceptor
{
    /// <inheritdoc />
    public void Intercept(CommandContext context, CommandSettings settings)
    {
        if (context.Remaining.Raw.Count > 0)
        {
            var command = "ips " + string.Join(' ', context.Arguments.TakeWhile(a => !a.StartsWith('-')));
            throw new UsageException($"{command}: unexpected argument(s) '{string.Join(' ', context.Remaining.Raw)}' after '--' (see {command} --help)");
        }
    }
}

/// <summary>The command line itself is wrong (unknown option, extra argument): one line, exit code 64 (EX_USAGE).</summary>
internal sealed class UsageException(string message) : Exception(message);
