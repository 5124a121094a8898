return await Gantry.Cli.CliApp.RunAsync(args);
