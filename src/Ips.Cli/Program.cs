using Ips.Cli;

return await CliApp.Create().RunAsync(args);
