from sagetop.cli import main

raise SystemExit(main())
