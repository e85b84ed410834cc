using Ips.Cli.Hosting;
using Ips.Configuration;
using Ips.IO;
using Ips.Native;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli;

/// <summary>
/// Turns the exceptions that mean "the input is wrong" (config, data, files, devices) into one red line naming the
/// problem, with the exit code of the README's table: 64 (EX_USAGE) for a wrong command line or option value, 66
/// (EX_NOINPUT) for an input that is not found or holds nothing, 2 when libtorch cannot load, 1 for other bad input;
/// anything else is a bug (70) and keeps its stack trace.
/// </summary>
internal static partial class UserErrors
{
    public static int Handle(Exception error, IAnsiConsole console, IReadOnlyList<string> args)
    {
        if (!IsUserError(error))
        {
            console.WriteException(error);
            return 70;
        }
        console.MarkupLine($"[red]error:[/] {Markup.Escape(Describe(error, args))}");
        return error switch
        {
            TorchLoadException => 2,
            UsageException or CommandAppException => 64,
            NoInputException or FileNotFoundException or DirectoryNotFoundException => 66,
            _ => 1,
        };
    }

    /// <summary>True for the exceptions that mean "the input is wrong" rather than a bug.</summary>
    public static bool IsUserError(Exception error) => error is UsageException or CommandAppException or NoInputException or ConfigException
        or ArgumentException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException
        or UnauthorizedAccessException or TorchLoadException or IOException;

    // Spectre says "Unknown option 'atention-dir'." or "Unknown command 'extra'."; the command tree gives the command
    // it was meant for and the nearest valid name to suggest.
    private static string Describe(Exception error, IReadOnlyList<string> args)
    {
        if (StateDictMismatch.Details(error) is { } details)
        {
            // The full list of keys runs to dozens of lines; it is asked for, not given by default.
            return args.Contains("--verbose") ? details
                : CommandTree.Accepts(args, "--verbose") ? error.Message + " (--verbose lists every key)" : error.Message;
        }
        if (error is not CommandParseException)
        {
            return error.Message;
        }
        if (UnknownOption().Match(error.Message) is { Success: true } option)
        {
            return CommandTree.UnknownOption(args, option.Groups[1].Value);
        }
        return UnknownCommand().Match(error.Message) is { Success: true } command
            ? CommandTree.UnknownCommand(args, command.Groups[1].Value)
            : error.Message;
    }

    [System.Text.RegularExpressions.GeneratedRegex("^Unknown option '(.+)'\\.$")]
    private static partial System.Text.RegularExpressions.Regex UnknownOption();

    [System.Text.RegularExpressions.GeneratedRegex("^Unknown command '(.+)'\\.$")]
    private static partial System.Text.RegularExpressions.Regex UnknownCommand();
}
