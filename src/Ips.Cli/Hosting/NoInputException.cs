namespace Ips.Cli.Hosting;

/// <summary>
/// The inputs named on the command line exist but hold nothing to work on (a folder without slides): exit code 66
/// (EX_NOINPUT), so that a cluster job given a wrong path fails instead of "succeeding" on nothing.
/// </summary>
internal sealed class NoInputException(string message) : Exception(message);
