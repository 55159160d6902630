-- One fixed request (wrk's URL); only adds the result line.
dofile(os.getenv("BENCH_API_DIR") .. "/report.lua")
