Console.WriteLine("sifa");
