// The `sifa` command: each subcommand lives in Commands/ and returns a process exit code.
return Sifa.Cli.SifaCli.Run(args);
