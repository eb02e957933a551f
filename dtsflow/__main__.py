from dtsflow.cli import main

raise SystemExit(main())
