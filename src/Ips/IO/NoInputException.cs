namespace Ips.IO;

/// <summary>
/// The inputs a user named exist but hold nothing to work on (a folder without slides or tiles): the CLI's exit
/// code 66 (EX_NOINPUT), so that a cluster job given a wrong path fails instead of "succeeding" on nothing.
/// </summary>
public sealed class NoInputException(string message) : Exception(message);
