using Ips.Cli;
using Ips.Native;

// Before anything allocates tensors: keep freed memory for reuse (see ProcessAllocator). Bench children run this too.
ProcessAllocator.Configure();
return await CliApp.Create(args: args).RunAsync(args);
