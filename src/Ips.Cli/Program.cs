using Ips.Cli;
using Ips.Cli.Hosting;
using Ips.Native;
using Spectre.Console;

// First of all: where libjemalloc2 is installed, the process starts over on it (same arguments and id); its size
// classes keep one training step's memory reusable by the next (see ProcessAllocator). Bench children inherit it.
try
{
    ProcessAllocator.RestartOnJemalloc();
}
catch (ArgumentException error)
{
    await Console.Error.WriteLineAsync("error: " + error.Message);
    return 2;
}
// Before anything allocates tensors: keep freed memory for reuse where glibc serves the process.
ProcessAllocator.Configure();
// Before libtorch loads libgomp: its threads sleep instead of spinning while they wait (see OpenMpWaitPolicy).
OpenMpWaitPolicy.Configure();
// Colour off where NO_COLOR asks for it, by the same rule that makes progress plain (TerminalOutput).
AnsiConsole.Console = TerminalOutput.CreateConsole(Environment.GetEnvironmentVariable);
return await CliApp.Create(args: args).RunAsync(args);
