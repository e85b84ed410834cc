using Ips.Cli;
using Ips.Native;

// Before anything allocates tensors: keep freed memory for reuse (see ProcessAllocator). Bench children run this too.
ProcessAllocator.Configure();
// Before libtorch loads libgomp: its threads sleep instead of spinning while they wait (see OpenMpWaitPolicy).
OpenMpWaitPolicy.Configure();
return await CliApp.Create(args: args).RunAsync(args);
