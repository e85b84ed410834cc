using Ips.Configuration;
using Ips.Native;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli;

/// <summary>
/// Turns the exceptions that mean "the input is wrong" (config, data, files, devices) into one red line naming the
/// problem, with exit code 1; anything else is a bug and keeps its stack trace.
/// </summary>
internal static class UserErrors
{
    public static int Handle(Exception error, ITypeResolver? resolver)
    {
        switch (error)
        {
            case CommandAppException:
            case ConfigException:
            case ArgumentException:
            case InvalidDataException:
            case FileNotFoundException:
            case DirectoryNotFoundException:
            case UnauthorizedAccessException:
            case TorchLoadException:
            case IOException:
                AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(error.Message)}");
                return error is TorchLoadException ? 2 : 1;
            default:
                AnsiConsole.WriteException(error);
                return 70;
        }
    }
}
