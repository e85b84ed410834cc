using Ips.Cli;

return await CliApp.Create(args: args).RunAsync(args);
